"""The Locust users a load run can put on the stack: ``--user`` name -> the locustfile's class."""

USER_CLASSES = {
    "gateway": "GatewayChatUser",
    "gateway-memory": "GatewayMemoryChatUser",
    "mock": "MockChatUser",
}
GATEWAY_USERS = ("gateway", "gateway-memory")  # the users that need the gateway in the stack

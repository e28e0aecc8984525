"""``mockopenai record``: relay to a real upstream and write each exchange as a scenario."""

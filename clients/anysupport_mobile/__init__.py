"""The customer's mobile client: a PyQt5 window like a phone's camera app, or the same client headless."""

"""The blind media relay: sealed frames go to the other side of a connected session, unread."""

"""Agent accounts: creation, editing, disabling and deletion by administrators."""

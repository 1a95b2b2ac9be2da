"""Qt item models of the console (sessions, chat, canned phrases, trouble types, statistics), tested without views."""

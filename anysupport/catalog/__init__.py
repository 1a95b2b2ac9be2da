"""What administrators configure: trouble types, canned phrases, the survey and the site settings."""

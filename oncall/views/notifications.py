"""Pages for a person's contact methods, notification rules and notifications."""

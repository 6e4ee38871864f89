"""The claim archive."""

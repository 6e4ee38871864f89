"""The HTTP service over the claim archive."""

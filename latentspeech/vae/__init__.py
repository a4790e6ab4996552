"""vae package."""

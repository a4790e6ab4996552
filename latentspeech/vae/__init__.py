"""σ-VAE: waveform ↔ continuous latent frames (LatentLM's σ-VAE). Inference: `latentspeech.vae.model.SigmaVAE`;
training (imports discriminators/losses): `latentspeech.vae.train`. Nothing is imported here."""

"""LatentSpeech: zero-shot TTS with next-token diffusion over continuous σ-VAE latents (LatentLM, 2024).

Nothing heavy is imported here; `from latentspeech import TTS` loads the inference stack lazily.
"""

__version__ = "0.1.0"

__all__ = ["TTS", "__version__"]


def __getattr__(name: str):
    if name == "TTS":
        from latentspeech.api import TTS

        return TTS
    raise AttributeError(f"module 'latentspeech' has no attribute {name!r}")

"""Exception hierarchy. The library raises these; only `latentspeech.cli.main` prints them.

Every message is one line that says what is wrong and how to fix it.
"""


class LatentSpeechError(Exception):
    """Base class for every error LatentSpeech reports to a user."""


class InputError(LatentSpeechError):
    """Bad user input: missing/corrupt/short audio, empty text, unknown phoneme, bad argument."""


class ConfigError(LatentSpeechError):
    """A YAML config or override does not match its dataclass."""


class CheckpointError(LatentSpeechError):
    """A checkpoint or model directory is missing, corrupt or of the wrong kind."""


class DataDirError(LatentSpeechError):
    """A kaldi data directory is malformed."""

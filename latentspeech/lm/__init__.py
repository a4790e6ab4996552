"""Next-token diffusion LM: model.py (LatentLM), layers.py, head.py (diffusion head), schedule.py, sampler.py,
decoding.py (DecodeConfig), generate.py (generation loop); train.py is training only. Nothing is imported here."""

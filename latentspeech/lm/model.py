"""LatentLM for TTS: a causal transformer over [phonemes] [BOS] [prompt frames] [frames ...] whose hidden
state h_t conditions a diffusion head that samples the next continuous latent frame (LatentLM, Sun et al.
2024, arXiv 2412.08635), plus a binary end-of-speech classifier on h_t.

Shape letters: B batch, P phonemes, N latent frames (prompt + target), D latent_dim, C d_model.
Position j of the audio stream (j = 0 is BOS, j ≥ 1 is frame j − 1) yields `hidden[:, j]`, which predicts
frame j; `hidden[:, N]` (after the last frame) is where the stop classifier should fire.

Classifier-free guidance drops the TEXT: with probability `cfg_dropout` every phoneme embedding of an
example is replaced by one learned `null_text` vector (same length, so conditional and unconditional
streams share positions and batch together at inference). Prompt frames (the voice) are never dropped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from latentspeech.lm.head import DiffusionHead
from latentspeech.lm.layers import Block, KVCache, RMSNorm, RotaryEmbedding
from latentspeech.lm.schedule import CosineSchedule, diffusion_loss

__all__ = ["LMConfig", "LMOutput", "LatentLM"]


@dataclass
class LMConfig:
    vocab_size: int = 256                       # phoneme table size (train-lm sets it from the dump's vocab)
    latent_dim: int = 32                        # D of the σ-VAE (train-lm checks it against the latent dump)
    d_model: int = 384
    n_layer: int = 8
    n_head: int = 6
    ffn_hidden: int = 0                         # SwiGLU width; 0 = 8/3·d_model rounded up to 64 (LLaMA)
    rope_theta: float = 10_000.0
    # RoPE positions of the audio stream: False = they follow the phonemes (BOS at P, one sequence index);
    # True = they restart at 0 (BOS at 0, frame k at k + 1) like the phonemes', so the rotary distance between
    # audio step t and phoneme i is t − i rather than P + 1 + t − i: where to look (phoneme ≈ 1.5·t at 12.5 Hz)
    # no longer moves with the text length P (docs/experiments.md, "The first LM that reads").
    separate_positions: bool = False
    head_width: int = 512                       # diffusion head (MAR SimpleMLPAdaLN)
    head_depth: int = 3
    prediction: Literal["v", "eps"] = "v"
    n_train_steps: int = 1000                   # discrete diffusion times in training
    diffusion_batch_mul: int = 4                # noise draws per target frame per step (MAR)
    cfg_dropout: float = 0.1                    # P(text replaced by null_text) per training example
    stop_pos_weight: float = 10.0               # BCE pos_weight: one positive per utterance vs N negatives
    stop_loss_weight: float = 1.0
    # Auxiliary CTC alignment loss (0 = off, no extra weights): the states that predict the frames must also
    # spell the utterance's phonemes (ctc_upsample CTC slots per frame, since a 12.5 Hz frame spans more than
    # one phoneme). It pushes the transformer to read the text monotonically, which plain next-frame diffusion
    # learns only slowly at small scale (docs/experiments.md, "Why the first LMs babbled"). At inference the head scores
    # best-of-N candidates (`ctc_scores`, DecodeConfig.candidates).
    ctc_weight: float = 0.0
    ctc_upsample: int = 3
    # Training only: the teacher-forced history frames get Gaussian noise of a per-example std ~ U(0, context_noise)
    # (targets stay clean), so the next frame cannot be read off the previous ones (whose encoder saw a little
    # of the future) and the text must be used. 0 = off.
    context_noise: float = 0.0
    # Options measured and closed, kept readable in old configs only at their off value (config.py): the
    # prompt's pace at BOS, the target length per frame, and RoPE positions scaled by the pace (docs/experiments.md
    # *Telling the LM the length*, *The pace in the attention geometry*, *The pace on a GPU, decided*; the code is
    # at commit 6818663).
    RETIRED: ClassVar[dict[str, object]] = {"rate_conditioning": False, "progress_conditioning": False,
                                            "progress_jitter": 0.0, "rate_positions": False,
                                            "rate_positions_ref": 1.0}

    def __post_init__(self) -> None:
        if self.d_model % self.n_head or (self.d_model // self.n_head) % 2:
            raise ValueError(f"d_model {self.d_model} must split into n_head {self.n_head} heads of even size")
        if self.prediction not in ("v", "eps"):
            raise ValueError(f"prediction must be 'v' or 'eps', not {self.prediction!r}")

    @property
    def ffn_dim(self) -> int:
        return self.ffn_hidden or 64 * math.ceil(8 * self.d_model / 3 / 64)


@dataclass
class LMOutput:
    hidden: Tensor        # [B, N + 1, C] final-norm states; hidden[:, j] predicts frame j
    stop_logits: Tensor   # [B, N + 1] end-of-speech logits


class LatentLM(nn.Module):
    """Decoder-only transformer + diffusion head + stop classifier; see the module docstring."""

    def __init__(self, config: LMConfig):
        super().__init__()
        self.config = config
        c = config.d_model
        self.tok_emb = nn.Embedding(config.vocab_size, c)
        self.null_text = nn.Parameter(torch.zeros(c))
        self.bos = nn.Parameter(torch.zeros(c))
        self.frame_proj = nn.Linear(config.latent_dim, c)
        rope = RotaryEmbedding(c // config.n_head, config.rope_theta)
        self.blocks = nn.ModuleList(Block(c, config.n_head, config.ffn_dim, rope) for _ in range(config.n_layer))
        self.norm = RMSNorm(c)
        self.stop_head = nn.Linear(c, 1)
        if config.ctc_weight > 0:  # blank = index vocab_size
            self.ctc_head = nn.Linear(c, config.ctc_upsample * (config.vocab_size + 1))
        self.head = DiffusionHead(config.latent_dim, c, config.head_width, config.head_depth)
        self.schedule = CosineSchedule(config.n_train_steps)
        self._init_weights()

    def _init_weights(self) -> None:
        """N(0, 0.02) for the transformer, residual outputs scaled by 1/sqrt(2·n_layer) (GPT-2)."""
        for name, p in self.named_parameters():
            if name.startswith("head."):
                continue  # DiffusionHead has its own (zero adaLN) init
            if p.dim() >= 2 or name in ("null_text", "bos"):
                std = 0.02 / math.sqrt(2 * self.config.n_layer) if name.endswith(("proj.weight", "w2.weight")) \
                    and name.startswith("blocks.") else 0.02
                nn.init.normal_(p, std=std)
            elif name.endswith("bias"):
                nn.init.zeros_(p)

    def num_parameters(self) -> dict[str, int]:
        """Parameter counts: transformer (incl. embeddings, stop), head, total."""
        head = sum(p.numel() for p in self.head.parameters())
        total = sum(p.numel() for p in self.parameters())
        return {"transformer": total - head, "head": head, "total": total}

    @property
    def dtype(self) -> torch.dtype:
        return self.frame_proj.weight.dtype

    # --- embedding ---------------------------------------------------------------------------------
    def embed_text(self, phonemes: Tensor, drop_text: Tensor | None = None) -> Tensor:
        """phoneme ids [B, P] → [B, P, C]; rows with drop_text[b] get null_text everywhere (CFG)."""
        x = self.tok_emb(phonemes)
        if drop_text is not None:
            x = torch.where(drop_text.view(-1, 1, 1), self.null_text.to(x.dtype), x)
        return x

    def embed_bos(self, batch: int, dtype: torch.dtype) -> Tensor:
        """BOS [B, 1, C], the first input of the audio stream (teacher-forced forward and prefill alike)."""
        return self.bos.to(dtype).expand(batch, 1, -1)

    def _run(self, x: Tensor, cache: KVCache | None = None, positions: Tensor | None = None) -> Tensor:
        for i, block in enumerate(self.blocks):
            x = block(x, cache, i, positions)
        if cache is not None:
            cache.advance(x.shape[1])
        return self.norm(x)

    # --- teacher-forced forward --------------------------------------------------------------------
    def forward(self, phonemes: Tensor, phoneme_lens: Tensor, frames: Tensor, frame_lens: Tensor,
                drop_text: Tensor | None = None, fixed_length: bool = False) -> LMOutput:
        """Padded batch → states for every audio position. phonemes [B, P], frames [B, N, D] (right padded).

        The joint sequence is as long as the longest example (one host sync), or with `fixed_length` P + N + 1
        (a shape that follows the padded tensors, so batches padded to a multiple repeat shapes; the states
        are the same: the extra positions come after every example's last one)."""
        b, p = phonemes.shape
        n = frames.shape[1]
        c = self.config.d_model
        dev = phonemes.device
        text = self.embed_text(phonemes, drop_text)  # [B, P, C]
        text = text * (torch.arange(p, device=dev)[None] < phoneme_lens[:, None]).unsqueeze(-1).to(text.dtype)
        audio = torch.cat([self.embed_bos(b, text.dtype), self.frame_proj(frames.to(self.dtype))], 1)
        j = torch.arange(n + 1, device=dev)[None]  # [1, N + 1]
        audio = audio * (j <= frame_lens[:, None]).unsqueeze(-1).to(audio.dtype)  # [B, N + 1, C]
        length = p + n + 1 if fixed_length else int((phoneme_lens + frame_lens).max()) + 1
        pos = (phoneme_lens[:, None] + j).clamp(max=length - 1)  # [B, N + 1] sequence index of audio j
        # each example: its phonemes at 0 .. P_b − 1, then BOS and frames right after (no inner padding)
        x = text.new_zeros(b, length, c)
        x[:, : min(p, length)] = text[:, :length]
        x = x.scatter_add(1, pos.unsqueeze(-1).expand(-1, -1, c), audio.to(x.dtype))
        rope_pos = None
        if self.config.separate_positions:  # phoneme i at i, audio j (BOS = 0) at j
            s = torch.arange(length, device=dev)[None]
            rope_pos = torch.where(s < phoneme_lens[:, None], s, s - phoneme_lens[:, None])  # [B, L]
        h = self._run(x, positions=rope_pos)  # [B, L, C]
        hidden = h.gather(1, pos.unsqueeze(-1).expand(-1, -1, c))  # [B, N + 1, C]
        return LMOutput(hidden=hidden, stop_logits=self.stop_head(hidden).squeeze(-1))

    def loss(self, phonemes: Tensor, phoneme_lens: Tensor, frames: Tensor, frame_lens: Tensor,
             prompt_lens: Tensor, generator: torch.Generator | None = None,
             drop_text: bool = False, fixed_length: bool = False, history: Tensor | None = None) -> dict[str, Tensor]:
        """Training loss on the target frames only (j ∈ [prompt_len, frame_len)): diffusion + stop BCE.

        Prompt frames and padding get no loss. CFG text dropout is applied here in training mode;
        `drop_text=True` drops the text of every example (the unconditional stream, for diagnostics);
        `fixed_length`: see forward(); `history` [B, N, D]: the frames fed as input
        (default `frames`, teacher forcing; LMDataConfig.history_prob puts the LM's own samples in it), while the
        targets stay `frames`.
        Returns {'loss', 'diffusion', 'stop'}.
        """
        cfg = self.config
        b, n = frames.shape[:2]
        drop = None
        if drop_text:
            drop = torch.ones(b, dtype=torch.bool, device=frames.device)
        elif self.training and cfg.cfg_dropout > 0:
            drop = torch.rand(b, device=frames.device, generator=generator) < cfg.cfg_dropout
        if history is None:
            history = frames
        elif history.shape != frames.shape:
            raise ValueError(f"history {tuple(history.shape)} and frames {tuple(frames.shape)} differ in shape")
        if self.training and cfg.context_noise > 0:
            std = cfg.context_noise * torch.rand(b, 1, 1, device=frames.device, generator=generator)
            noise = torch.randn(frames.shape, device=frames.device, generator=generator)
            history = history + std.to(frames.dtype) * noise.to(frames.dtype)
        out = self(phonemes, phoneme_lens, history, frame_lens, drop, fixed_length)
        j = torch.arange(n + 1, device=frames.device)[None]
        target = (j[:, :n] >= prompt_lens[:, None]) & (j[:, :n] < frame_lens[:, None])  # [B, N]
        diff = diffusion_loss(self.head, frames, out.hidden[:, :n], target, self.schedule, cfg.prediction,
                              cfg.diffusion_batch_mul, generator)
        stop_valid = (j >= prompt_lens[:, None]) & (j <= frame_lens[:, None])  # [B, N + 1]
        labels = (j == frame_lens[:, None]).float().expand(b, -1)
        stop = F.binary_cross_entropy_with_logits(
            out.stop_logits.float()[stop_valid], labels[stop_valid],
            pos_weight=torch.tensor(cfg.stop_pos_weight, device=frames.device))
        losses = {"loss": diff + cfg.stop_loss_weight * stop, "diffusion": diff.detach(), "stop": stop.detach()}
        if cfg.ctc_weight > 0:
            ctc = self.ctc_loss(out.hidden[:, :n], frame_lens, phonemes, phoneme_lens, drop)
            losses["loss"] = losses["loss"] + cfg.ctc_weight * ctc
            losses["ctc"] = ctc.detach()
        return losses

    def ctc_loss(self, hidden: Tensor, frame_lens: Tensor, phonemes: Tensor, phoneme_lens: Tensor,
                 drop: Tensor | None = None) -> Tensor:
        """CTC of the frame-predicting states [B, N, C] against each example's phonemes (text-dropped rows and
        rows with too few slots are skipped); mean over the rest, 0 if none."""
        cfg = self.config
        u, v = cfg.ctc_upsample, cfg.vocab_size + 1
        b, n, _ = hidden.shape
        logp = self.ctc_head(hidden).float().view(b, n * u, v).log_softmax(-1)
        slots = frame_lens * u
        keep = slots >= phoneme_lens  # CTC needs at least one slot per label
        if drop is not None:
            keep &= ~drop
        if not bool(keep.any()):
            return logp.sum() * 0.0  # keeps ctc_head in the graph (DDP)
        return F.ctc_loss(logp[keep].transpose(0, 1), phonemes[keep], slots[keep], phoneme_lens[keep],
                          blank=cfg.vocab_size, reduction="mean", zero_infinity=True)

    @property
    def has_ctc_head(self) -> bool:
        return hasattr(self, "ctc_head")

    def ctc_scores(self, states: Tensor, lengths: Tensor, phonemes: Tensor) -> Tensor:
        """How well each candidate's frame-predicting states spell `phonemes`: CTC negative log-likelihood per
        phoneme. states [K, N, C] (candidate k uses its first lengths[k]), phonemes [P] → [K]; lower = reads the
        text better; inf where a candidate has fewer CTC slots than phonemes. Needs the CTC head."""
        if not self.has_ctc_head:
            raise ValueError("this LM has no CTC head (train it with model.ctc_weight > 0)")
        cfg = self.config
        u, v = cfg.ctc_upsample, cfg.vocab_size + 1
        k, n, _ = states.shape
        logp = self.ctc_head(states.to(self.ctc_head.weight.dtype)).float().view(k, n * u, v).log_softmax(-1)
        targets = phonemes.view(1, -1).expand(k, -1)
        target_lens = torch.full((k,), phonemes.numel(), dtype=torch.long, device=states.device)
        nll = F.ctc_loss(logp.transpose(0, 1), targets, lengths.to(states.device) * u, target_lens,
                         blank=cfg.vocab_size, reduction="none", zero_infinity=False)
        return nll / max(1, phonemes.numel())

    # --- incremental decoding ----------------------------------------------------------------------
    def new_cache(self, batch: int, max_len: int, device: torch.device | str = "cpu") -> KVCache:
        """An empty fp32 KV cache for `batch` streams of up to `max_len` positions (grows if exceeded)."""
        c = self.config
        return KVCache(c.n_layer, batch, c.n_head, c.d_model // c.n_head, max_len, device)

    def prefill(self, phonemes: Tensor, prompt_frames: Tensor, cache: KVCache,
                drop_text: Tensor | None = None) -> Tensor:
        """Run [phonemes] [BOS] [prompt frames] into an empty cache; → last state [B, C] (predicts the next frame).

        phonemes [B, P] (no padding), prompt_frames [B, N_p, D] (N_p may be 0).
        """
        b = phonemes.shape[0]
        text = self.embed_text(phonemes, drop_text)
        bos = self.embed_bos(b, text.dtype)
        x = torch.cat([text, bos, self.frame_proj(prompt_frames.to(self.dtype))], 1)  # [B, P + 1 + N_p, C]
        if not self.config.separate_positions:
            return self._run(x, cache)[:, -1]
        p, n_audio = phonemes.shape[1], 1 + prompt_frames.shape[1]
        positions = torch.cat([torch.arange(p, device=x.device), torch.arange(n_audio, device=x.device)])
        h = self._run(x, cache, positions)[:, -1]
        cache.position = n_audio  # step() continues the audio stream's positions
        return h

    def step(self, frame: Tensor, cache: KVCache) -> Tensor:
        """Feed one frame [B, D] after the cached positions → next state [B, C]."""
        x = self.frame_proj(frame.to(self.dtype)).unsqueeze(1)  # [B, 1, C]
        positions = None
        if isinstance(cache.position, Tensor):  # rows of their own positions (KVCache.gather_rows)
            positions = cache.position[:, None]  # [B, 1]
        return self._run(x, cache, positions)[:, -1]

    def stop_prob(self, hidden: Tensor) -> Tensor:
        """P(end of speech) from states [..., C] → [...]."""
        return torch.sigmoid(self.stop_head(hidden).float().squeeze(-1))

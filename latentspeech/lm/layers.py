"""Transformer building blocks (LLaMA style): RMSNorm, rotary embeddings, SwiGLU, KV-cache attention.

Shape letters: B batch, L sequence positions (this call), S cached + new positions, H heads, K head dim,
C model width. The KV cache keeps one fp32 tensor per layer ([2, B, H, S_max, K]): bf16 attention was
3–4× slower on CPU here, and one tensor per layer is what torch.compile handles well (resources.md).
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["RMSNorm", "RotaryEmbedding", "SwiGLU", "Attention", "Block", "KVCache"]


class RMSNorm(nn.Module):
    """y = x / rms(x) · w, computed in fp32 (Zhang & Sennrich 2019)."""

    def __init__(self, dim: int, eps: float = 1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: Tensor) -> Tensor:
        xf = x.float()
        y = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return (y * self.weight.float()).to(x.dtype)


class RotaryEmbedding(nn.Module):
    """RoPE (Su et al. 2021), rotate-half layout; cos/sin tables grow on demand (prompts of any length)."""

    def __init__(self, head_dim: int, theta: float = 10_000.0):
        super().__init__()
        inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
        self.register_buffer("inv_freq", inv_freq, persistent=False)
        self._cos: Tensor | None = None
        self._sin: Tensor | None = None

    def _tables(self, n: int, device: torch.device) -> tuple[Tensor, Tensor]:
        if self._cos is None or self._cos.shape[0] < n or self._cos.device != device:
            size = max(n, 2 * (self._cos.shape[0] if self._cos is not None else 512))
            # plain tensors even when first built under inference_mode, so that training after generation works
            with torch.inference_mode(False), torch.no_grad():
                t = torch.arange(size, device=device, dtype=torch.float32)
                freqs = torch.outer(t, self.inv_freq.to(device))  # [S, K/2]
                emb = torch.cat([freqs, freqs], dim=-1)  # [S, K]
                self._cos, self._sin = emb.cos(), emb.sin()
        return self._cos, self._sin

    def forward(self, q: Tensor, k: Tensor, positions: int | Tensor) -> tuple[Tensor, Tensor]:
        """Rotate q, k [B, H, L, K] (fp32) for positions `start .. start + L − 1` (an int `start`) or given
        position ids ([L] shared by the batch, or [B, L])."""
        n = q.shape[-2]
        if isinstance(positions, int):
            cos, sin = self._tables(positions + n, q.device)
            cos, sin = cos[positions : positions + n], sin[positions : positions + n]  # [L, K]
        else:
            cos, sin = self._tables(int(positions.max()) + 1, q.device)
            cos, sin = cos[positions], sin[positions]  # [L, K] or [B, L, K]
        if cos.dim() == 3:
            cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)  # [B, 1, L, K]: broadcast over heads
        return _rotate(q, cos, sin), _rotate(k, cos, sin)


def _rotate(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    x1, x2 = x.chunk(2, dim=-1)
    return x * cos + torch.cat([-x2, x1], dim=-1) * sin


class SwiGLU(nn.Module):
    """FFN(x) = W2 (silu(W1 x) ⊙ W3 x) (Shazeer 2020)."""

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.w1 = nn.Linear(dim, hidden, bias=False)
        self.w3 = nn.Linear(dim, hidden, bias=False)
        self.w2 = nn.Linear(hidden, dim, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class KVCache:
    """Keys/values of past positions: one fp32 tensor [2, B, H, S_max, K] per layer, the fill length, and the
    RoPE position of the next token (`position`; equals `length` unless the model restarts a stream's positions).

    Rows of different prefix lengths (batched generation of several utterances, `gather_rows`) are left-padded:
    `pad` [B] holds each row's count of padding slots at the start, which no query attends to, and `position` is
    then a tensor [B] (each row's next RoPE position). `select` keeps some rows (a finished utterance leaves)."""

    def __init__(self, n_layer: int, batch: int, n_head: int, head_dim: int, max_len: int,
                 device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32):
        self.layers = [torch.zeros(2, batch, n_head, max_len, head_dim, device=device, dtype=dtype)
                       for _ in range(n_layer)]
        self.length = 0
        self.position: int | Tensor = 0
        self.pad: Tensor | None = None  # [B] left-padding slots per row; None = no row is padded

    @classmethod
    def gather_rows(cls, caches: Sequence["KVCache"], rows: Sequence[tuple[int, int]], max_len: int) -> "KVCache":
        """One cache of rows taken from others: rows[i] = (cache index, row) is row i, its filled positions
        right-aligned to the longest (left padding in `pad`), with its own next position. Prefill each utterance
        alone, then batch their steps: a row's states are what they were alone."""
        src = [caches[c] for c, _ in rows]
        width = max(c.length for c in src)
        first = src[0].layers[0]
        _, _, n_head, _, head_dim = first.shape
        out = cls(len(src[0].layers), len(rows), n_head, head_dim,
                  max(max_len, width), first.device, first.dtype)
        for layer in range(len(out.layers)):
            for i, (cache, (_, r)) in enumerate(zip(src, rows)):
                out.layers[layer][:, i, :, width - cache.length : width] = cache.layers[layer][:, r, :, : cache.length]
        out.length = width
        out.pad = torch.tensor([width - c.length for c in src], device=first.device)
        out.position = torch.tensor([int(c.position if isinstance(c.position, int) else c.position[r])
                                     for c, (_, r) in zip(src, rows)], device=first.device)
        return out

    def key_mask(self, n_keys: int) -> Tensor | None:
        """[B, 1, 1, n_keys] True where a key is real (not left padding), or None when no row is padded."""
        if self.pad is None:
            return None
        return (torch.arange(n_keys, device=self.pad.device)[None] >= self.pad[:, None])[:, None, None]

    def select(self, rows: Tensor) -> None:
        """Keep only the batch rows `rows` (long [B'], in that order)."""
        kept = []
        for buf in self.layers:  # only the filled positions are copied
            out = buf.new_empty(buf.shape[0], rows.numel(), *buf.shape[2:])
            out[:, :, :, : self.length] = buf[:, :, :, : self.length].index_select(1, rows)
            kept.append(out)
        self.layers = kept
        if isinstance(self.position, Tensor):
            self.position = self.position.index_select(0, rows)
        if self.pad is not None:
            self.pad = self.pad.index_select(0, rows)

    @property
    def max_len(self) -> int:
        return self.layers[0].shape[3]

    def _grow(self, need: int) -> None:
        new = max(need, 2 * self.max_len)
        for i, buf in enumerate(self.layers):
            bigger = buf.new_zeros(*buf.shape[:3], new, buf.shape[4])
            bigger[:, :, :, : self.length] = buf[:, :, :, : self.length]
            self.layers[i] = bigger

    def update(self, layer: int, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        """Append k, v [B, H, L, K] at the current length; return all keys/values [B, H, S, K]."""
        end = self.length + k.shape[2]
        if end > self.max_len:
            self._grow(end)
        buf = self.layers[layer]
        buf[0, :, :, self.length : end] = k
        buf[1, :, :, self.length : end] = v
        return buf[0, :, :, :end], buf[1, :, :, :end]

    def advance(self, n: int) -> None:
        """Called once per forward after every layer wrote its n new positions."""
        self.length += n
        self.position += n


class Attention(nn.Module):
    """Causal multi-head self-attention with RoPE and an optional KV cache (fp32 attention math)."""

    def __init__(self, dim: int, n_head: int, rope: RotaryEmbedding):
        super().__init__()
        self.n_head = n_head
        self.head_dim = dim // n_head
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.proj = nn.Linear(dim, dim, bias=False)
        self.rope = rope

    def forward(self, x: Tensor, cache: KVCache | None = None, layer: int = 0,
                positions: Tensor | None = None) -> Tensor:
        """x [B, L, C] → [B, L, C]; with `cache`, x continues the cached positions. `positions` ([L] or [B, L])
        are RoPE position ids; default: the sequence index (cache.position onwards)."""
        b, n, c = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, self.n_head, self.head_dim).permute(2, 0, 3, 1, 4).float()
        start = cache.length if cache is not None else 0
        q, k = self.rope(q, k, positions if positions is not None else  # [B, H, L, K] each
                         (cache.position if cache is not None else 0))
        past = start > 0
        real = None
        if cache is not None:
            k, v = cache.update(layer, k, v)  # [B, H, S, K]
            real = cache.key_mask(k.shape[2])  # [B, 1, 1, S] or None
        if real is None and not past:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=n > 1)
        elif real is None and n == 1:
            y = F.scaled_dot_product_attention(q, k, v)  # one new query sees every cached key
        else:  # a chunk after a cached prefix, or left-padded rows: query i sees keys up to start + i
            s = k.shape[2]
            allowed = torch.ones(n, s, dtype=torch.bool, device=x.device).tril(diagonal=s - n)
            if real is not None:  # no padding key; a padding query sees itself only (no empty softmax row)
                own = torch.arange(s, device=x.device)[None] == torch.arange(s - n, s, device=x.device)[:, None]
                allowed = (allowed & real) | own  # [B, 1, L, S]
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed)
        y = y.transpose(1, 2).reshape(b, n, c).to(x.dtype)  # [B, H, L, K] → [B, L, C]
        return self.proj(y)


class Block(nn.Module):
    """Pre-norm transformer block: x + attn(norm(x)), then x + ffn(norm(x))."""

    def __init__(self, dim: int, n_head: int, ffn_hidden: int, rope: RotaryEmbedding, eps: float = 1e-6):
        super().__init__()
        self.attn_norm = RMSNorm(dim, eps)
        self.attn = Attention(dim, n_head, rope)
        self.ffn_norm = RMSNorm(dim, eps)
        self.ffn = SwiGLU(dim, ffn_hidden)

    def forward(self, x: Tensor, cache: KVCache | None = None, layer: int = 0,
                positions: Tensor | None = None) -> Tensor:
        x = x + self.attn(self.attn_norm(x), cache, layer, positions)
        return x + self.ffn(self.ffn_norm(x))

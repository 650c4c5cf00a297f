"""VAEHandle: what the VAE socket carries. Converts between IMAGE tensors ([B,H,W,C], 0..1,
channels-last as ComfyUI) and unscaled latents, plainly or in overlapping tiles.

Every method takes an optional `check_interrupt` callable (a node passes `ctx.check_interrupted`):
it is called before each batch item (plain) or each tile (tiled) and stops the work by raising,
so a long decode of a big batch or a big image ends at the next item or tile.

`decode` never fails for want of memory when tiles would do: it estimates the decode's peak
(`diffusion.memory.planner.vae_decode_bytes`) against the device's free memory and decodes in
the largest tiles that fit when the whole would not, and retries in smaller tiles after an
out-of-memory error (as ComfyUI falls back to tiled decoding). A half-precision decode that
overflows into NaN or infinity (SDXL's VAE in fp16) is redone in float32, and the VAE stays in
float32 from then on.

The weights are managed like the UNet's: `patcher` (a ModelPatcher over the AutoencoderKL, `patchers()`
for the model manager) is loaded by every encode and decode through `load_with` (set by the loaders), with
`decode_work_bytes` / `encode_work_bytes` (the planner's estimates, the tile's when the whole would not
fit) as the work beside it; the VAE computes wherever the manager put it (`device`), and block by block when the manager streams it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import torch

from diffusion.memory.devices import empty_cache, free_memory
from diffusion.memory.patcher import ModelPatcher
from diffusion.memory.planner import choose_tile, vae_decode_bytes, vae_encode_bytes
from diffusion.models.latent_formats import SD15_FORMAT, LatentFormat
from diffusion.models.vae.tiling import decode_tiled, encode_tiled
from diffusion.models.vae.vae import AutoencoderKL

log = logging.getLogger(__name__)

_HALF = (torch.float16,)


class VAEHandle:
    """An AutoencoderKL plus the latent format of the model it belongs to.

    `encode` crops the image to a multiple of the downscale factor (centred, as ComfyUI's
    VAEEncode), maps 0..1 to -1..1 and returns the latent mean; `decode` maps back and clamps
    to 0..1. Work runs on the VAE's device and dtype; results come back as float32 on the CPU.
    """

    def __init__(self, model: AutoencoderKL, latent_format: LatentFormat = SD15_FORMAT, *, source: str = ""):
        self.model = model.eval().requires_grad_(False)
        self.latent_format = latent_format
        self.source = source
        self.free_bytes: Callable[[torch.device], int] = free_memory  # replaceable in tests
        self.last_decode_tile: int | None = None  # the tile size the last decode chose (None: whole)
        weights = next(self.model.parameters(), None)
        home = weights.device if weights is not None else torch.device("cpu")
        self.patcher = ModelPatcher(self.model, load_device=home, offload_device=home)
        self.patcher.source = source or None
        # The model manager's load (`ModelServices.load_for_work(patchers, work)`, set by the loaders), called
        # before every encode and decode with the bytes it needs as `work(room)`: whoever calls it (a VAE node,
        # an inspect node, a pack calling vae.decode as in ComfyUI, whose VAE loads itself), the VAE computes on
        # the device, counted in the budget. None: the VAE computes where its weights are.
        self.load_with: Callable[[list[ModelPatcher], Callable[[int], int]], None] | None = None

    def patchers(self) -> list[ModelPatcher]:
        """The model patchers the model manager loads before this VAE computes (one: the AutoencoderKL)."""
        return [self.patcher]

    def _dtype_bytes(self) -> int:
        weights = next(self.model.parameters(), None)
        return weights.element_size() if weights is not None else 4

    def decode_work_bytes(self, latent_shape: Sequence[int], *, room: int | None = None,
                          one_item: bool = False) -> int:
        """Bytes a decode of a [B, C, h, w] latent needs beside the weights (`planner.vae_decode_bytes`; for
        one batch item at a time with `one_item`, as `decode` works with an interrupt check). With `room`
        (the bytes the budget leaves beside the weights) and a whole decode that would not fit in it, the
        estimate of the tile `decode` then picks (`choose_tile`), so the manager does not evict for nothing."""
        batch, _, height, width = (int(n) for n in latent_shape)
        batch = 1 if one_item else batch
        whole = vae_decode_bytes(batch, height, width, dtype_bytes=self._dtype_bytes())
        tile = choose_tile(room, batch, height, width, dtype_bytes=self._dtype_bytes()) if room is not None else None
        if tile is None:
            return whole
        side = (tile + 2 * 64) // 8  # choose_tile's tile with its overlap, in latent pixels
        return min(whole, vae_decode_bytes(1, side, side, dtype_bytes=self._dtype_bytes()))

    def encode_work_bytes(self, image_shape: Sequence[int], *, tile_size: int | None = None,
                          one_item: bool = False) -> int:
        """Bytes an encode of a [B, H, W, C] IMAGE needs beside the weights (`planner.vae_encode_bytes`; of one
        `tile_size` tile when encoding tiled; one item at a time with `one_item`)."""
        batch, height, width = int(image_shape[0]), int(image_shape[1]), int(image_shape[2])
        if tile_size is not None:
            batch, height, width = 1, min(height, tile_size), min(width, tile_size)
        return vae_encode_bytes(1 if one_item else batch, height, width, dtype_bytes=self._dtype_bytes())

    def tiled_decode_work_bytes(self, tile_size: int, overlap: int = 64) -> int:
        """Bytes one tile of `decode_tiled(tile_size, overlap)` needs beside the weights."""
        side = max(1, (tile_size + 2 * overlap) // max(self.downscale, 1))
        return vae_decode_bytes(1, side, side, dtype_bytes=self._dtype_bytes())

    def _load(self, work: Callable[[int], int]) -> None:
        """Ask the model manager to load the VAE, `work(room)` bytes beside it, before the inputs move to its
        device (called once the inputs' shapes were checked, so the estimate can read them)."""
        if self.load_with is not None:
            self.load_with(self.patchers(), work)

    def _computing(self):
        """The context the model computes in: the manager's streamer when it streams this VAE block by block."""
        return self.patcher.computing()

    @property
    def downscale(self) -> int:
        return self.model.config.downscale

    @property
    def device(self) -> torch.device:
        """Where the VAE computes: where the manager put its weights, or its streaming device."""
        return self.patcher.current_device()

    @staticmethod
    def _check_image(image: torch.Tensor) -> None:
        if image.ndim != 4 or image.shape[-1] < 3:
            raise ValueError(f"IMAGE must be [batch, height, width, 3+], got shape {tuple(image.shape)}")

    def _pixels(self, image: torch.Tensor) -> torch.Tensor:
        self._check_image(image)
        factor = self.downscale
        height, width = image.shape[1] // factor * factor, image.shape[2] // factor * factor
        if height == 0 or width == 0:
            raise ValueError(f"image of {image.shape[2]}x{image.shape[1]} is smaller than {factor}x{factor} pixels")
        top, left = (image.shape[1] - height) // 2, (image.shape[2] - width) // 2
        image = image[:, top:top + height, left:left + width, :3]
        return (image.movedim(-1, 1).float() * 2.0 - 1.0).to(self.device)

    def _image(self, pixels: torch.Tensor) -> torch.Tensor:
        return ((pixels.float() + 1.0) / 2.0).clamp(0.0, 1.0).movedim(1, -1).cpu()

    def _check_latent(self, latent: torch.Tensor) -> None:
        if latent.ndim != 4 or latent.shape[1] != self.model.config.embed_dim:
            raise ValueError(
                f"latent must be [batch, {self.model.config.embed_dim}, h, w], got shape {tuple(latent.shape)}"
            )

    def _latent(self, latent: torch.Tensor) -> torch.Tensor:
        self._check_latent(latent)
        return latent.to(self.device)

    @torch.inference_mode()
    def encode(self, image: torch.Tensor, check_interrupt: Callable[[], None] | None = None) -> torch.Tensor:
        """IMAGE [B,H,W,C] 0..1 -> latent [B,4,H/8,W/8] (unscaled)."""
        self._check_image(image)
        shape, one_item = tuple(image.shape), check_interrupt is not None
        self._load(lambda room: self.encode_work_bytes(shape, one_item=one_item))
        with self._computing():
            return by_item(self.model.encode, self._pixels(image), check_interrupt).float().cpu()

    @torch.inference_mode()
    def decode(self, latent: torch.Tensor, check_interrupt: Callable[[], None] | None = None) -> torch.Tensor:
        """Latent [B,4,h,w] -> IMAGE [B,8h,8w,3] 0..1 (whole, or in tiles when memory is short)."""
        self._check_latent(latent)
        shape, one_item = tuple(latent.shape), check_interrupt is not None
        self._load(lambda room: self.decode_work_bytes(shape, room=room, one_item=one_item))
        latent = self._latent(latent)
        dtype_bytes = self.model.encoder.conv_in.weight.element_size()
        batch = 1 if check_interrupt is not None else latent.shape[0]
        tile = choose_tile(self.free_bytes(self.device), batch, latent.shape[2], latent.shape[3],
                           dtype_bytes=dtype_bytes)
        while True:
            self.last_decode_tile = tile
            try:
                pixels = self._decode_pixels(latent, tile, check_interrupt)
                break
            except torch.OutOfMemoryError:
                smaller = 512 if tile is None else tile // 2
                if smaller < 64:
                    raise
                log.warning("VAE decode ran out of memory%s; retrying in %d px tiles",
                            "" if tile is None else f" in {tile} px tiles", smaller)
                empty_cache(self.device)
                tile = smaller
        if self.model.encoder.conv_in.weight.dtype in _HALF and not torch.isfinite(pixels).all():
            log.warning("the VAE overflowed in float16 (NaN/inf pixels); decoding again in float32, "
                        "and keeping this VAE in float32")
            self.model.float()
            pixels = self._decode_pixels(latent, self.last_decode_tile, check_interrupt)
        return self._image(pixels)

    def _decode_pixels(self, latent: torch.Tensor, tile: int | None,
                       check_interrupt: Callable[[], None] | None) -> torch.Tensor:
        with self._computing():
            if tile is None:
                return by_item(self.model.decode, latent, check_interrupt)
            factor = self.downscale
            tile_latent = max(1, tile // factor)
            return decode_tiled(self.model, latent, tile_latent, min(64 // factor, tile_latent - 1),
                                check_interrupt=check_interrupt)

    @torch.inference_mode()
    def encode_tiled(self, image: torch.Tensor, tile_size: int = 512, overlap: int = 64,
                     check_interrupt: Callable[[], None] | None = None) -> torch.Tensor:
        """Like `encode`, over overlapping tiles of `tile_size` pixels (rounded down to the downscale)."""
        self._check_image(image)
        work = self.encode_work_bytes(image.shape, tile_size=tile_size + 2 * overlap)
        self._load(lambda room: work)
        factor = self.downscale
        tile = max(factor, tile_size // factor * factor)
        overlap = min(overlap // factor * factor, tile - factor)
        with self._computing():
            return encode_tiled(self.model, self._pixels(image), tile, overlap, check_interrupt=check_interrupt).cpu()

    @torch.inference_mode()
    def decode_tiled(self, latent: torch.Tensor, tile_size: int = 512, overlap: int = 64,
                     check_interrupt: Callable[[], None] | None = None) -> torch.Tensor:
        """Like `decode`, over overlapping tiles of `tile_size` pixels (ComfyUI's VAEDecodeTiled units)."""
        self._check_latent(latent)
        work = self.tiled_decode_work_bytes(tile_size, overlap)
        self._load(lambda room: work)
        factor = self.downscale
        tile = max(1, tile_size // factor)
        overlap = min(overlap // factor, tile - 1)
        with self._computing():
            return self._image(decode_tiled(self.model, self._latent(latent), tile, overlap,
                                            check_interrupt=check_interrupt))


def by_item(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor,
            check_interrupt: Callable[[], None] | None) -> torch.Tensor:
    """`fn(x)`; with `check_interrupt`, one batch item at a time with a check before each."""
    if check_interrupt is None:
        return fn(x)
    parts = []
    for item in x.split(1):
        check_interrupt()
        parts.append(fn(item))
    return torch.cat(parts)

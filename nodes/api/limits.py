"""Size limits for tensors a prompt asks for: refused before anything is allocated.

Three simple rules, checked by every node that makes an image, latent or mask from numbers
in the prompt (width, height, batch_size, amount, scale_by, padding):

- one image may have at most `max_pixels` pixels (default 4096 x 4096 = 16.7 MP, i.e. a
  512 x 512 latent: what a VAE decode or a UNet step on it can still hold in memory);
- a batch may hold at most `max_batch` items (default 64);
- the tensor the node allocates (elements x 4 bytes, float32) must fit in `memory_bytes`
  (default: half the machine's RAM).

A latent's pixels are counted at image scale (8 x its width, 8 x its height), so an
EmptyLatentImage of 16384 x 16384 is refused although its latent alone is only 64 MB: its
decode, or one sampling step, is what would exhaust the machine. Each refusal names the
node, the input and the estimate. Linked inputs are unknown before the graph runs: the node
checks the real size with `check_output` right before it allocates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DEFAULT_MAX_PIXELS = 8192 * 8192  # 67 MP: an 8K photo passes; a 16384x16384 latent (268 MP of image) does not
DEFAULT_MAX_BATCH = 64
BYTES_PER_ELEMENT = 4  # float32
LATENT_SCALE = 8  # pixels per latent pixel (SD1.x/SD2.x/SDXL)


def half_the_ram() -> int:
    """Half the machine's RAM in bytes (psutil; 8 GiB when it cannot tell)."""
    try:
        import psutil  # noqa: PLC0415 - only asked once, when the runtime is built

        return int(psutil.virtual_memory().total // 2)
    except Exception:  # pragma: no cover - psutil is a dependency; stay usable without it
        return 8 * 1024**3


@dataclass(frozen=True)
class SizeLimits:
    """The three limits; `NodeRuntime.limits` holds the process's (flags --max-pixels, --max-batch)."""

    max_pixels: int = DEFAULT_MAX_PIXELS
    max_batch: int = DEFAULT_MAX_BATCH
    memory_bytes: int = field(default_factory=half_the_ram)

    def __post_init__(self) -> None:
        for name in ("max_pixels", "max_batch", "memory_bytes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"size limit {name} must be a positive integer, got {value!r}")


class SizeLimitError(ValueError):
    """A node was asked for a tensor larger than the limits allow."""


def limits_of(ctx: Any) -> SizeLimits:
    """The runtime's limits, or the defaults when the context carries no runtime (or an older one)."""
    limits = getattr(getattr(ctx, "runtime", None), "limits", None)
    return limits if isinstance(limits, SizeLimits) else SizeLimits()


def megabytes(count: int) -> str:
    """A byte count as people read it ("64 MB"; small counts in bytes)."""
    return f"{count / 1024**2:,.0f} MB" if count >= 1024**2 else f"{count:,} bytes"


def size_problem(limits: SizeLimits, node: str, *, width: int, height: int, batch: int = 1, channels: int = 3,
                 scale: int = 1, pixel_input: str = "width", batch_input: str = "batch_size") -> tuple[str, str] | None:
    """(input name, message) when a [batch, channels, height, width] tensor breaks a limit, else None.

    `scale` is the pixels per tensor pixel (8 for a latent): the pixel limit counts image pixels.
    """
    pixels = width * scale * height * scale
    estimate = batch * channels * width * height * BYTES_PER_ELEMENT
    output = f"; its output alone is about {megabytes(estimate)}"
    if pixels > limits.max_pixels:
        return pixel_input, (f"{node}: {width * scale}x{height * scale} is {pixels:,} pixels per image, over the limit "
                             f"of {limits.max_pixels:,} (--max-pixels){output}")
    if batch > limits.max_batch:
        return batch_input, (f"{node}: a batch of {batch:,} is over the limit of {limits.max_batch:,} (--max-batch)"
                             f"{output}")
    if estimate > limits.memory_bytes:
        return batch_input, (f"{node}: the output needs about {megabytes(estimate)} ({batch:,} x {channels} x "
                             f"{height:,} x {width:,} float32), over the memory budget of "
                             f"{megabytes(limits.memory_bytes)}")
    return None


def check_output(ctx: Any, node: str, **shape: Any) -> None:
    """Raise SizeLimitError before a node allocates a tensor that breaks a limit (arguments as `size_problem`)."""
    problem = size_problem(limits_of(ctx), node, **shape)
    if problem is not None:
        raise SizeLimitError(problem[1])


def known_ints(*values: Any) -> bool:
    """True when every value is a literal int (a linked input arrives as None at validation)."""
    return all(isinstance(v, int) and not isinstance(v, bool) for v in values)


def range_problems(node_cls: Any, values: dict[str, Any]) -> list[tuple[str, str]]:
    """The declared min/max checks of `values` (a validate() hook that names inputs takes them
    out of the generic range check, so it runs the same check here first)."""
    declared = {item.name: item for item in node_cls.inputs}
    problems = []
    for name, value in values.items():
        spec = declared.get(name)
        if spec is None or isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        low, high = getattr(spec, "min", None), getattr(spec, "max", None)
        if low is not None and value < low:
            problems.append((name, f"{node_cls.node_id}: input '{name}' is {value}, smaller than min of {low}"))
        elif high is not None and value > high:
            problems.append((name, f"{node_cls.node_id}: input '{name}' is {value}, bigger than max of {high}"))
    return problems


def validate_size(ctx: Any, node_cls: Any, values: dict[str, Any], shape: Any) -> list[tuple[str, str]]:
    """What a validate() hook returns: the declared range problems of `values`, else the size problem.

    `shape` is a callable taking the literal values (all known ints or floats) and returning the
    keyword arguments of `size_problem`, or None when it cannot tell yet.
    """
    problems = range_problems(node_cls, values)
    if problems or any(v is None or isinstance(v, bool) for v in values.values()):
        return problems
    arguments = shape(**values)
    if arguments is None:
        return []
    problem = size_problem(limits_of(ctx), node_cls.node_id, **arguments)
    return [problem] if problem else []


def batch_problem(ctx: Any, node: str, batch: int, name: str) -> list[tuple[str, str]]:
    """The batch limit alone, for nodes whose image size is only known at run time."""
    limits = limits_of(ctx)
    if known_ints(batch) and batch > limits.max_batch:
        return [(name, f"{node}: a batch of {batch:,} is over the limit of {limits.max_batch:,} (--max-batch)")]
    return []

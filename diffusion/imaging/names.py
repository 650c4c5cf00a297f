"""The resize and crop method names of `diffusion.imaging.resample`: torch-free, for node declarations."""

# torch's interpolate modes (no corner alignment).
INTERPOLATE_METHODS = ("nearest-exact", "bilinear", "area", "bicubic")
# ImageScale's methods (lanczos goes through Pillow) and LatentUpscale's (bislerp: spherical).
IMAGE_METHODS = (*INTERPOLATE_METHODS, "lanczos")
LATENT_METHODS = (*INTERPOLATE_METHODS, "bislerp")
CROP_METHODS = ("disabled", "center")

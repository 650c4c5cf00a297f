"""Tiny decoders for live previews: madebyollin's TAESD (model.py, files.py) and the smaller patch
decoder (patch_decoder.py) the demo model's preview uses."""

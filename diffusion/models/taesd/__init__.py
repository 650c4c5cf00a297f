"""Tiny autoencoder decoders (madebyollin's TAESD) for live previews: model.py, files.py."""

// PkgLayerSigning: OpenPGP keys and signatures. Placeholder; see OpenPGPSigner.

// PkgLayerPublish: writes yum and apt repositories. Placeholder.

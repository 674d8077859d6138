"""refconv's unit tests (a package, so that module names may repeat those of properties/)."""

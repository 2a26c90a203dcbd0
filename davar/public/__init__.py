"""What students and a submission repository's CI use: the public bundle (`davar export-public`) and the
CI commands (`davar ci`, `davar init-ci`)."""

"""Verification against the real model: which architecture a script builds (`spec`), its
parameter table (`table`), built by a sandboxed worker process (`worker`, the only place torch is
imported) and kept in an on-disk cache (`cache`); `resolve` ties them together."""

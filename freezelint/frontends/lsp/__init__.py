"""`freezelint server`: the checks in an editor, over the Language Server Protocol (stdio).

Only this package imports `pygls` and `lsprotocol` (the `server` extra); nothing in the static
path imports it, and nothing here imports torch."""

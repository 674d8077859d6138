"""An infinite loop at import."""
while True:
    pass


def zero_pad(X, pad):
    return X

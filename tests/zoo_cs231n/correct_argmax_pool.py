"""Zoo entry (CS231n): correct max pooling only (a partial submission: no conv functions) -
the backward routes each upstream value to np.unravel_index(np.argmax(window)), the first
maximum in row-major order, which is torch's rule for ties."""
import numpy as np


def max_pool_forward_naive(x, pool_param):
    """
    A naive implementation of the forward pass for a max-pooling layer.

    Inputs:
    - x: Input data, of shape (N, C, H, W)
    - pool_param: dictionary with the following keys:
      - 'pool_height': The height of each pooling region
      - 'pool_width': The width of each pooling region
      - 'stride': The distance between adjacent pooling regions

    Returns a tuple of:
    - out: Output data
    - cache: (x, pool_param)
    """
    N, C, H, W = x.shape
    pool_height = pool_param["pool_height"]
    pool_width = pool_param["pool_width"]
    stride = pool_param["stride"]
    H_prime = 1 + (H - pool_height) // stride
    W_prime = 1 + (W - pool_width) // stride

    out = np.empty((N, C, H_prime, W_prime))
    for hp in range(H_prime):
        for wp in range(W_prime):
            h0, w0 = hp * stride, wp * stride
            region = x[:, :, h0:h0 + pool_height, w0:w0 + pool_width]
            out[:, :, hp, wp] = region.max(axis=(2, 3))
    cache = (x, pool_param)
    return out, cache


def max_pool_backward_naive(dout, cache):
    """
    A naive implementation of the backward pass for a max-pooling layer.

    Inputs:
    - dout: Upstream derivatives
    - cache: A tuple of (x, pool_param) as in the forward pass.

    Returns:
    - dx: Gradient with respect to x
    """
    x, pool_param = cache
    N, C, H, W = x.shape
    pool_height = pool_param["pool_height"]
    pool_width = pool_param["pool_width"]
    stride = pool_param["stride"]
    _, _, H_prime, W_prime = dout.shape

    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for hp in range(H_prime):
                for wp in range(W_prime):
                    h0, w0 = hp * stride, wp * stride
                    region = x[n, c, h0:h0 + pool_height, w0:w0 + pool_width]
                    r, s = np.unravel_index(np.argmax(region), region.shape)
                    dx[n, c, h0 + r, w0 + s] += dout[n, c, hp, wp]
    return dx

"""Zoo entry (CS231n): correct convolution only (no pooling functions) - the forward is an
einsum per output position; the backward is the textbook "full convolution": dx is the
stride-dilated dout, padded by HH-1 / WW-1, cross-correlated with the 180-degree rotated
filters, and dw is x_pad cross-correlated with the dilated dout (exact geometry assumed)."""
import numpy as np


def conv_forward_naive(x, w, b, conv_param):
    """Convolution forward; returns (out, (x, w, b, conv_param))."""
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    s, p = conv_param["stride"], conv_param["pad"]
    H_out = 1 + (H + 2 * p - HH) // s
    W_out = 1 + (W + 2 * p - WW) // s
    x_pad = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    out = np.empty((N, F, H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            patch = x_pad[:, :, i * s:i * s + HH, j * s:j * s + WW]
            out[:, :, i, j] = np.einsum("nckl,fckl->nf", patch, w) + b
    return out, (x, w, b, conv_param)


def _dilate(dout, s):
    N, F, H_out, W_out = dout.shape
    d = np.zeros((N, F, (H_out - 1) * s + 1, (W_out - 1) * s + 1))
    d[:, :, ::s, ::s] = dout
    return d


def conv_backward_naive(dout, cache):
    """Convolution backward as full convolutions; returns (dx, dw, db)."""
    x, w, b, conv_param = cache
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    s, p = conv_param["stride"], conv_param["pad"]
    x_pad = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))

    db = dout.sum(axis=(0, 2, 3))

    d = _dilate(dout, s)                    # (N, F, H + 2p - HH + 1, W + 2p - WW + 1)
    Hd, Wd = d.shape[2:]
    dw = np.empty_like(w)
    for u in range(HH):
        for v in range(WW):
            dw[:, :, u, v] = np.einsum("nfhw,nchw->fc", d, x_pad[:, :, u:u + Hd, v:v + Wd])

    d_full = np.pad(d, ((0, 0), (0, 0), (HH - 1, HH - 1), (WW - 1, WW - 1)))
    w_rot = w[:, :, ::-1, ::-1]
    dx_pad = np.empty(x_pad.shape)
    for i in range(x_pad.shape[2]):
        for j in range(x_pad.shape[3]):
            dx_pad[:, :, i, j] = np.einsum("nfkl,fckl->nc", d_full[:, :, i:i + HH, j:j + WW],
                                           w_rot)
    dx = dx_pad[:, :, p:p + H, p:p + W]
    return dx, dw, db

"""WAV reading and log-mel spectrogram features (numpy only, batched over recordings)."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from mmadbench.errors import DataError


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """A mono 16-bit PCM WAV as float32 in [-1, 1] and its sample rate; truncation is an error."""
    try:
        with wave.open(str(path), "rb") as w:
            channels, width, rate, frames = w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()
            raw = w.readframes(frames)
    except (wave.Error, EOFError, OSError) as exc:
        raise DataError(f"{path}: not a readable WAV file ({_wav_problem(exc)})") from None
    if width != 2:
        raise DataError(f"{path}: expected 16-bit PCM, got {8 * width}-bit samples")
    if len(raw) != frames * channels * width:
        raise DataError(
            f"{path}: truncated WAV file ({len(raw)} bytes of audio, header says {frames * channels * width})"
        )
    audio = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    if channels > 1:
        audio = audio.reshape(-1, channels).mean(axis=1)
    return audio, rate


def _wav_problem(exc: Exception) -> str:
    """What is wrong with a WAV file in words, also where the exception carries no message (the
    wave module raises a bare EOFError for a file that ends inside its header)."""
    if str(exc):
        return f"{type(exc).__name__}: {exc}"
    if isinstance(exc, EOFError):
        return "the file ends before its header does: empty or cut short"
    return type(exc).__name__


def mel_filterbank(n_mels: int, n_fft: int, rate: int) -> np.ndarray:
    """Triangular mel filters [n_mels, n_fft // 2 + 1] (HTK mel scale, 0 Hz to Nyquist)."""
    to_mel = lambda f: 2595.0 * np.log10(1.0 + f / 700.0)  # noqa: E731
    to_hz = lambda m: 700.0 * (10 ** (m / 2595.0) - 1.0)  # noqa: E731
    edges = to_hz(np.linspace(to_mel(0.0), to_mel(rate / 2), n_mels + 2))
    bins = np.linspace(0, rate / 2, n_fft // 2 + 1)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins - lower) / (centre - lower)
    falling = (upper - bins) / (upper - centre)
    return np.maximum(0.0, np.minimum(rising, falling)).astype(np.float32)


def log_mel(clips: np.ndarray, rate: int, n_mels: int = 64, n_fft: int = 256, hop: int = 80) -> np.ndarray:
    """Log-mel spectrograms [n, n_mels, frames] of equal-length clips [n, samples], all at once."""
    frames = 1 + (clips.shape[1] - n_fft) // hop
    idx = np.arange(n_fft)[None, :] + hop * np.arange(frames)[:, None]
    windowed = clips[:, idx] * np.hanning(n_fft).astype(np.float32)  # [n, frames, n_fft]
    power = np.abs(np.fft.rfft(windowed, axis=-1)) ** 2
    mel = power @ mel_filterbank(n_mels, n_fft, rate).T  # [n, frames, n_mels]
    return np.log(mel + 1e-6).transpose(0, 2, 1).astype(np.float32)


def fix_length(audio: np.ndarray, samples: int) -> np.ndarray:
    """Crop or zero-pad to exactly `samples`."""
    out = np.zeros(samples, dtype=np.float32)
    out[: min(samples, len(audio))] = audio[:samples]
    return out

"""Runs inside .venv-optical-ref: a JSON list of jobs on stdin -> a JSON list of results on stdout.

Jobs (``kind``):

* ``linetools_ew``: {"line": "CIV 1548", "logn_cm2", "b_kms"} -> the rest-frame equivalent width
  (mA) of linetools' ``voigt_tau`` (its own atomic data of ``AbsLine(line)``) integrated by the
  trapezoidal rule over lambda on a grid of 0.002 Doppler widths out to 10, then growing by 0.05 %
  per point out to lambda_0 (1 + z) / 1.5 and / 0.5 (the range the package integrates over);
  also the line's ``wrest_a``, ``f_osc`` and ``gamma_s``.
* ``linetools_tau``: {"wave_a": [...], "lines": [[logn, z, b_kms, wrest_a, f, gamma], ...]} -> tau.
* ``pyastronomy``: {"function": "rotBroad" | "fastRotBroad" | "instrBroadGaussFast", "wave_a",
  "flux", and its arguments} -> the broadened flux; ``"seconds"`` times it (best of ``repeat``).
"""

import json
import sys
import time

import numpy as np

C_KMS = 299792.458


def linetools_ew(job):
    from linetools.analysis.voigt import voigt_tau
    from linetools.spectralline import AbsLine

    line = AbsLine(job["line"])
    wrest, f, gamma = line.wrest.to("AA").value, float(line.data["f"]), line.data["gamma"].value
    beta = job["b_kms"] / C_KMS
    u_end = 0.5 / beta
    core = np.arange(0.0, 10.0, 0.002)
    wing = 10.0 * 1.0005 ** np.arange(int(np.log(u_end / 10.0) / np.log(1.0005)) + 1)
    u = np.concatenate((core, wing[wing < u_end], [u_end]))
    u = np.concatenate((-u[:0:-1], u))
    wave = wrest / (1.0 + u * beta)[::-1]  # ascending wavelengths
    tau = voigt_tau(wave * 1e-8, [job["logn_cm2"], 0.0, job["b_kms"] * 1e5, wrest * 1e-8, f, gamma])
    ew = np.trapezoid(-np.expm1(-tau), wave)
    return {"ew_ma": float(ew * 1e3), "wrest_a": float(wrest), "f_osc": f, "gamma_s": float(gamma),
            "n_points": int(wave.size)}


def linetools_tau(job):
    from linetools.analysis.voigt import voigt_tau

    wave = np.asarray(job["wave_a"], dtype=float) * 1e-8
    tau = np.zeros(wave.size)
    for logn, z, b, wrest, f, gamma in job["lines"]:
        tau += voigt_tau(wave, [logn, z, b * 1e5, wrest * 1e-8, f, gamma])
    return {"tau": tau.tolist()}


def pyastronomy(job):
    from PyAstronomy import pyasl

    fn = getattr(pyasl, job["function"])
    wave, flux = np.asarray(job["wave_a"]), np.asarray(job["flux"])
    args = job.get("args", {})
    best, out = np.inf, None
    for _ in range(int(job.get("repeat", 1))):
        t = time.perf_counter()
        out = fn(wave, flux, **args)
        best = min(best, time.perf_counter() - t)
    return {"flux": np.asarray(out).tolist(), "seconds": best}


jobs = json.loads(sys.stdin.read())
print(json.dumps([{"linetools_ew": linetools_ew, "linetools_tau": linetools_tau,
                   "pyastronomy": pyastronomy}[job["kind"]](job) for job in jobs]))

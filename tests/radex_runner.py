"""Runs inside a reference venv (see radex_env.py): JSON list of models on stdin, JSON on stdout.

``radex_runner.py radex``: RADEX through spectralradex. A model is a RADEX parameter dict
(``molfile`` may be an absolute path); the answer is one list of line rows per model.
``radex_runner.py radex-timed``: the same runs, answering only ``{"seconds": total, "models": n}``.

``radex_runner.py pythonradex``: a model is ``{"molfile", "geometry", "fwhm_kms", "tkin",
"colliders": {pythonradex name: cm^-3}, "ntot_cm2", "tbg"}``; the answer is one dict of
per-line lists per model (its own T_ex, tau, populations, and T_R from its own line-centre
intensity minus the background it absorbs), and ``seconds`` (the solve).
"""

import json
import sys
import time


def run_radex_timed(models):
    from spectralradex import radex

    params = []
    for m in models:
        p = radex.get_default_parameters()
        p.update(m)
        params.append(p)
    t0 = time.perf_counter()
    for p in params:
        if radex.run(p) is None:
            raise SystemExit(f"RADEX failed for {p}")
    return {"seconds": time.perf_counter() - t0, "models": len(params)}


def run_radex(models):
    from spectralradex import radex

    results = []
    for params in models:
        p = radex.get_default_parameters()
        p.update(params)
        out = radex.run(p)
        if out is None:
            raise SystemExit(f"RADEX failed for {params}")
        results.append([
            {"freq_ghz": float(r["freq"]), "eup_k": float(r["E_UP (K)"]), "tex_k": float(r["T_ex"]),
             "tau": float(r["tau"]), "tr_k": float(r["T_R (K)"]), "pop_up": float(r["POP UP"]),
             "pop_low": float(r["POP LOW"]), "flux_kkms": float(r["FLUX (K*km/s)"]), "qup": r["Qup"],
             "qlow": r["Qlow"]}
            for _, r in out.iterrows()
        ])
    return results


def run_pythonradex(models):
    import warnings

    import numpy as np
    from pythonradex import helpers, radiative_transfer
    from scipy import constants

    warnings.simplefilter("ignore")
    results = []
    sources = {}
    for m in models:
        key = (m["molfile"], m["geometry"], m["fwhm_kms"])
        if key not in sources:
            # the RADEX-like geometries use the Gaussian profile of RADEX (LVG ones need test_mode)
            sources[key] = radiative_transfer.Source(
                datafilepath=m["molfile"], geometry=m["geometry"], line_profile_type="Gaussian",
                width_v=m["fwhm_kms"] * constants.kilo, test_mode=True, warn_negative_tau=False)
        src = sources[key]
        t0 = time.perf_counter()
        src.update_parameters(
            N=m["ntot_cm2"] / constants.centi**2, Tkin=m["tkin"],
            collider_densities={k: v / constants.centi**3 for k, v in m["colliders"].items()},
            ext_background=helpers.generate_CMB_background(z=m["tbg"] / 2.73 - 1.0), T_dust=0, tau_dust=0)
        src.solve_radiative_transfer()
        seconds = time.perf_counter() - t0
        nu0 = src.emitting_molecule.nu0
        tau = src.tau_nu0_individual_transitions
        t_line = src.emission_at_line_center(output_type="Rayleigh-Jeans")
        bg = helpers.RJ_brightness_temperature(specific_intensity=helpers.B_nu(nu=nu0, T=m["tbg"]), nu=nu0)
        results.append({"freq_ghz": (nu0 / 1e9).tolist(), "tex_k": src.Tex.tolist(), "tau": tau.tolist(),
                        "tr_k": (t_line - bg * -np.expm1(-tau)).tolist(),
                        "pop_up": src.upper_level_population.tolist(),
                        "pop_low": src.lower_level_population.tolist(), "seconds": seconds})
    return results


if __name__ == "__main__":
    code = sys.argv[1] if len(sys.argv) > 1 else "radex"
    models = json.loads(sys.stdin.read())
    run = {"radex": run_radex, "radex-timed": run_radex_timed, "pythonradex": run_pythonradex}[code]
    print(json.dumps(run(models)))

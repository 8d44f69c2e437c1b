"""A synthetic DEM for the sample: Lào Cai (province 15), 3 arc-seconds (≈ 90 m).

No real elevation model of Vietnam is reachable for the sample
(``../shared/data/SOURCES.md``, "What could not be found": SRTM/Copernicus tiles are
only downloadable at run time), so the sample's terrain is **synthetic**: plausible
mountain relief laid out on the real geography of Lào Cai, made from a seeded
generator, never to be mistaken for measured heights (the GeoTIFF says so in its
metadata). It exists so that ``covgap analyse --model itm --dem FILE`` can be run
and tested on the bundled sample; real planning needs a real DEM (SRTM 1″, Copernicus
GLO-30) given with ``--dem``.

Layout (EPSG:4326, pixel centres on a 1/1200° grid, int16 metres, nodata −32768):

- extent lon 103.50–105.12 E, lat 21.30–22.87 N: the bounding box of Lào Cai as of
  1 July 2025 (old Lào Cai + Yên Bái, ``vn_provinces34.geojson`` bounds
  103.53–105.10 E, 21.33–22.85 N) plus about 2 km; 1,944 × 1,884 pixels;
- the large-scale form follows the real north-west–south-east grain of the region,
  as a profile across the Red River (Sông Hồng) axis, which runs from Lào Cai city
  (103.96 E, 22.50 N, floor 80 m) to Yên Bái (104.90 E, 21.70 N, floor 35 m):
  south-west of it the Hoàng Liên Sơn range, crest about 28 km from the river (where
  Fansipan, 3,143 m, stands: 103.775 E, 22.303 N), then the Nậm Mu valley and the
  Mù Cang Chải highlands; north-east of it the Con Voi range (crest ≈ 1,150 m at
  13 km), the Chảy river valley (33 km) and the Bắc Hà highlands. The profile's
  heights shrink to 62 % towards Yên Bái;
- on it, ridged band-pass noise at wavelengths of 24, 12, 6, 3, 1.5 and 0.6 km
  (stretched 1.8× along the grain at the long wavelengths), with an amplitude of
  120 m + 28 % of the local height above the river floor: sharp ridges and V
  valleys; heights above 2,700 m are compressed (tanh) so the highest point is
  about 3,150 m; the floor is 30 m.

The result: heights 30–3,150 m (median ≈ 850 m), slopes of median ≈ 18° and
90th percentile ≈ 40° on the 90 m grid — the steep relief of north-west Vietnam.
Deterministic: the same seed gives the same heights (numpy's PCG64 and pocketfft).
About 4 MB as a DEFLATE GeoTIFF: generated on demand into ``data/dem/`` rather than
committed. This module reads nothing and writes only the file it is asked to.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import rasterio
from affine import Affine

from .atomic import atomic_path

#: File name the sample's DEM is written under (in ``data/dem/``).
SAMPLE_DEM_NAME = "lao_cai_synthetic_3arcsec.tif"
#: Default seed: the sample's (``covgap.sample.SampleSpec``).
DEFAULT_SEED = 20250715
NODATA = -32768

#: The Red River axis: Lào Cai city → Yên Bái (lon, lat), and its floor heights, m.
_RIVER_A = (103.96, 22.50)
_RIVER_B = (104.90, 21.70)
_FLOOR_A_M, _FLOOR_B_M = 80.0, 35.0
#: Height above the river floor across the axis: signed distance (km, + = south-west,
#: the Hoàng Liên Sơn side) → m. Before the along-axis scaling and the noise.
_PROFILE_KM = (-90.0, -50.0, -33.0, -13.0, -4.0, 0.0, 4.0, 14.0, 28.0, 38.0, 48.0, 60.0, 95.0)
_PROFILE_M = (1000.0, 1000.0, 150.0, 1150.0, 100.0, 0.0, 100.0, 1300.0, 2750.0, 1800.0, 500.0,
              1400.0, 1200.0)  # fmt: skip
#: Scaling of that profile along the axis (km from Lào Cai city → factor).
_ALONG_KM = (-60.0, -20.0, 20.0, 130.0, 200.0)
_ALONG_FACTOR = (0.9, 1.0, 1.0, 0.62, 0.55)
#: Noise octaves: (wavelength km, weight).
_OCTAVES = ((24.0, 1.0), (12.0, 0.55), (6.0, 0.3), (3.0, 0.16), (1.5, 0.08), (0.6, 0.03))
_M_PER_DEG_LAT = 110_574.0
_M_PER_DEG_LON_EQ = 111_320.0


@dataclass(frozen=True)
class SampleDemSpec:
    """What :func:`build_sample_dem` makes: extent (degrees, EPSG:4326), pixel, seed."""

    west: float = 103.50
    south: float = 21.30
    east: float = 105.12
    north: float = 22.87
    #: pixel size, degrees (1/1200° = 3 arc-seconds ≈ 92 m × 86 m at 22° N)
    pixel_deg: float = 1.0 / 1200.0
    seed: int = DEFAULT_SEED

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns)."""
        return (
            round((self.north - self.south) / self.pixel_deg),
            round((self.east - self.west) / self.pixel_deg),
        )

    @property
    def transform(self) -> Affine:
        """Pixel corners → lon/lat (north-up)."""
        return Affine(self.pixel_deg, 0.0, self.west, 0.0, -self.pixel_deg, self.north)


def build_sample_dem(spec: SampleDemSpec | None = None) -> npt.NDArray[np.int16]:
    """The synthetic heights, m, as an int16 (rows, columns) array, north row first.

    See the module docstring for the layout; pure (no I/O).
    """
    spec = spec or SampleDemSpec()
    rng = np.random.default_rng(spec.seed)
    h, w = spec.shape
    res = spec.pixel_deg
    lat_mid = 0.5 * (spec.south + spec.north)
    kx = _M_PER_DEG_LON_EQ * math.cos(math.radians(lat_mid)) / 1000.0  # km per degree
    ky = _M_PER_DEG_LAT / 1000.0
    lon = spec.west + (np.arange(w) + 0.5) * res
    lat = spec.north - (np.arange(h) + 0.5) * res
    x_km = ((lon - _RIVER_A[0]) * kx)[None, :]
    y_km = ((lat - _RIVER_A[1]) * ky)[:, None]
    axis = np.array([(_RIVER_B[0] - _RIVER_A[0]) * kx, (_RIVER_B[1] - _RIVER_A[1]) * ky])
    length_km = float(np.hypot(*axis))
    ux, uy = axis / length_km
    along = x_km * ux + y_km * uy  # km along the river from Lào Cai city
    across = x_km * uy - y_km * ux  # km across it, + = south-west
    floor = _FLOOR_A_M + (_FLOOR_B_M - _FLOOR_A_M) * np.clip(along, 0.0, length_km) / length_km
    relief = np.interp(across, _PROFILE_KM, _PROFILE_M) * np.interp(along, _ALONG_KM, _ALONG_FACTOR)
    macro = floor + relief

    # ridged band-pass noise, built in the Fourier domain (frequencies in cycles/km,
    # rotated to the river's axis so long wavelengths can be stretched along it)
    fy = (np.fft.fftfreq(h) / (ky * res))[:, None]
    fx = (np.fft.rfftfreq(w) / (kx * res))[None, :]
    f_along = fx * ux - fy * uy
    f_across = fx * uy + fy * ux
    ridges = np.zeros((h, w))
    weight = np.ones((h, w))
    for wavelength_km, a in _OCTAVES:
        stretch = 1.8 if wavelength_km > 5.0 else 1.2
        k = np.hypot(f_along * stretch, f_across) * wavelength_km  # 1 at the band's centre
        k[0, 0] = 1e-9
        amp = np.exp(-0.5 * (np.log(k) / 0.45) ** 2)
        amp[0, 0] = 0.0
        coef = rng.normal(size=amp.shape) + 1j * rng.normal(size=amp.shape)
        band = np.fft.irfft2(amp * coef, s=(h, w))
        band /= band.std()
        ridge = (1.0 - np.minimum(np.abs(band), 1.6) / 1.6) ** 2  # 1 on the ridge lines
        ridges += a * ridge * weight
        weight = np.clip(0.6 + 0.8 * ridge, 0.0, 1.2)
    ridges = (ridges - ridges.mean()) / ridges.std()
    z = macro + (0.28 * relief + 120.0) * ridges
    z = np.where(z > 2700.0, 2700.0 + 450.0 * np.tanh((z - 2700.0) / 450.0), z)
    z = np.maximum(z, 30.0)
    return np.round(z).astype(np.int16)


def write_sample_dem(path: str | Path, spec: SampleDemSpec | None = None) -> Path:
    """Write the synthetic DEM as a tiled DEFLATE GeoTIFF (EPSG:4326, int16 m); → path.

    Written atomically (a temporary file beside it, renamed when complete); the
    parent folder is created. Metadata tags say it is synthetic and name the seed.
    """
    spec = spec or SampleDemSpec()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    z = build_sample_dem(spec)
    h, w = z.shape
    with (
        atomic_path(out) as tmp,
        rasterio.open(
            tmp,
            "w",
            driver="GTiff",
            width=w,
            height=h,
            count=1,
            dtype="int16",
            crs="EPSG:4326",
            transform=spec.transform,
            nodata=NODATA,
            tiled=True,
            blockxsize=256,
            blockysize=256,
            compress="deflate",
            predictor=2,
            zlevel=6,
        ) as dst,
    ):
        dst.write(z, 1)
        dst.update_tags(
            SYNTHETIC="yes: not measured elevation (covgap.demsample)",
            AREA="Lào Cai province (15), Vietnam, 2025 boundaries: bounding box",
            SEED=str(spec.seed),
            UNITS="metres above sea level (synthetic)",
        )
        dst.set_band_description(1, "synthetic elevation, m")
    return out


__all__ = [
    "DEFAULT_SEED",
    "NODATA",
    "SAMPLE_DEM_NAME",
    "SampleDemSpec",
    "build_sample_dem",
    "write_sample_dem",
]

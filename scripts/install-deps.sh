#!/usr/bin/env bash
# Installs the Debian packages pointe builds against. Needs root (or sudo).
set -euo pipefail
packages=(
  libopenblas-dev       # all matrix work (cblas_sgemm), LAPACK for P-FID
  libzmq3-dev           # coordinator/worker transport
  libsqlite3-dev        # the coordinator's job store (GRDB)
  libjpeg62-turbo-dev   # JPEG decoding for image prompts
  libpng-dev            # PNG decoding and preview writing
  zlib1g-dev            # deflate in zip/npz and gzip (CLIP vocabulary)
  protobuf-compiler     # only to regenerate proto/ code (scripts/gen-proto.sh)
  chromium              # headless check of job reports (tests, scripts/screenshot-report.sh)
  iproute2              # network namespaces for the multi-host and chaos tests (ip netns)
  libc6-dev-arm64-cross # aarch64 headers: the C kernels are syntax-checked for arm64 in the tests
  slurm-wlm             # RealSlurmTests: slurmctld + 3 slurmd on this host run cluster/slurm/pointe.sbatch
  munge                 # Slurm's authentication (auth/munge) for that test cluster
  systemd               # systemd-analyze verify on cluster/systemd's units (no systemd as PID 1 needed)
  shellcheck            # lints every shell script in cluster/ and scripts/ (LauncherLintTests)
  python3-venv          # test venvs from PyPI: kubernetes-validate, trimesh, open3d, ... (Tests/Scripts)
  libusb-1.0-0          # open3d's wheel links libusb (RealClientFileTests read clouds/meshes with it)
  libgl1                # bpy (Blender from PyPI, BlenderImportTests) links libGL and the X11 libraries below
  libx11-6 libxext6 libxfixes3 libxi6 libxrender1 libxkbcommon0 libsm6
  libegl1               # bpy renders Workbench headless through EGL ...
  libegl-mesa0          # ... on Mesa's software rasterizer (no GPU needed)
  libgl1-mesa-dri
  libjs-three           # three.js for ThreeJSRenderTests (a GLB drawn in headless chromium)
)
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"

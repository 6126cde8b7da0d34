# Sourced by ci/build and ci/fuzz: a compiler cache when one is installed (ci/setup installs
# ccache), so a rebuild on the same machine compiles only what changed. Paths are hashed relative
# to the checkout, so clones at other paths share the cache; CCACHE_DIR may point elsewhere.
# Sets `cache_args`, the CMake arguments to add.
cache_args=()
if command -v ccache >/dev/null; then
  export CCACHE_DIR=${CCACHE_DIR:-/var/cache/pilot-ccache} CCACHE_BASEDIR=$PWD CCACHE_NOHASHDIR=1
  cache_args=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi

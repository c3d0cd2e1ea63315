# Sourced by scripts/test.sh and scripts/conformance.sh (from the repository root): checks the external
# tools the suite needs, each missing one reported on one line with how to get it, then creates or reuses
# the Python tools in .venv-test/ from scripts/requirements-test.txt and puts them first on PATH.

# The system packages the suite needs on Debian: the same list as the README's Quick start and .ci/run.
system_packages="libssl-dev libsqlite3-dev libbrotli-dev libzstd-dev pkg-config curl util-linux python3 python3-venv chromium postgresql"

check_tools() {
    local missing=0 apt="apt-get install $system_packages"
    need() { # need TEST... -- MESSAGE
        local message="${*: -1}"
        "${@:1:$#-1}" >/dev/null 2>&1 || { echo "missing: $message" >&2; missing=1; }
    }
    need command -v swift "swift: Swift 6.1 or later for Linux, from https://www.swift.org/install/"
    need command -v curl "curl: $apt"
    need command -v pkg-config "pkg-config: $apt"
    need pkg-config --exists libcrypto "OpenSSL 3 headers (libcrypto): $apt"
    need pkg-config --exists sqlite3 "SQLite headers: $apt"
    need pkg-config --exists libbrotlidec "Brotli headers (libbrotlidec, for the CLI's web audit): $apt"
    need pkg-config --exists libzstd "Zstandard headers (libzstd, for the CLI's web audit): $apt"
    need command -v setpriv "setpriv (util-linux): $apt"
    need python3 -c 'import venv, ensurepip' "python3 with venv: $apt"
    need command -v chromium "chromium (the web tests drive it headless): $apt"
    [ "$missing" = 0 ] || { echo "install what is missing above, then run $0 again" >&2; exit 1; }
}

setup_python_tools() {
    local venv=.venv-test requirements=scripts/requirements-test.txt
    if ! cmp -s "$requirements" "$venv/installed-requirements.txt"; then
        echo "python tools: installing $requirements into $venv/"
        python3 -m venv "$venv"
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements" \
            || { echo "missing: the Python tools of $requirements (pip could not install them; is PyPI reachable?)" >&2; exit 1; }
        cp "$requirements" "$venv/installed-requirements.txt"
    fi
    PATH="$PWD/$venv/bin:$PATH"
    export PATH
}

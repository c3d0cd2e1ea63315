# Sourced by scripts/test.sh and scripts/conformance.sh (from the repository root): checks the external
# tools the suite needs, each missing one reported on one line with how to get it, then creates or reuses
# the Python tools in .venv-test/ from scripts/requirements-test.txt and puts them first on PATH.

# The system packages the build and the suite need on Debian: the README's Quick start names the same list,
# and .ci/run installs this one.
system_packages="libssl-dev libsqlite3-dev libbrotli-dev libzstd-dev libcurl4-openssl-dev pkg-config curl util-linux python3 python3-venv chromium postgresql nginx openssl node-typescript"

# Installs the Debian packages above that are missing, when run as root on a machine with apt-get.
install_system_packages() {
    local missing=()
    for package in $system_packages; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
    done
    [ "${#missing[@]}" = 0 ] && return 0
    echo "system packages: installing ${missing[*]} with apt-get"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

check_tools() {
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null && command -v dpkg-query >/dev/null; then
        install_system_packages
    fi
    local missing=0 apt="apt-get install $system_packages (as root; scripts/test.sh run as root installs them itself)"
    need() { # need TEST... -- MESSAGE
        local message="${*: -1}"
        "${@:1:$#-1}" >/dev/null 2>&1 || { echo "missing: $message" >&2; missing=1; }
    }
    need command -v swift "swift: Swift 6.1 or later for Linux, from https://www.swift.org/install/"
    need swift format --version "swift format: part of the Swift toolchain since 6.0 (scripts/lint-swift.sh runs it)"
    need command -v curl "curl: $apt"
    need command -v pkg-config "pkg-config: $apt"
    need pkg-config --exists libcrypto "OpenSSL 3 headers (libcrypto): $apt"
    need pkg-config --exists sqlite3 "SQLite headers: $apt"
    need pkg-config --exists libbrotlidec "Brotli headers (libbrotlidec, for the CLI's web audit): $apt"
    need pkg-config --exists libzstd "Zstandard headers (libzstd, for the CLI's web audit): $apt"
    need pkg-config --exists libcurl "libcurl headers (libcurl4-openssl-dev, for the server's email notices over SMTP): $apt"
    need command -v setpriv "setpriv (util-linux): $apt"
    need python3 -c 'import venv, ensurepip' "python3 with venv: $apt"
    need command -v chromium "chromium (the web tests drive it headless): $apt"
    need command -v nginx "nginx (scripts/nginx-check.sh runs compose.yaml's configuration): $apt"
    need command -v openssl "openssl (the test certificate for nginx): $apt"
    need command -v tsc "tsc (node-typescript: scripts/lint-web.sh type-checks the web app's JavaScript): $apt"
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

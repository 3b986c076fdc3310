# Sourced by the scripts that run Python around the project (references,
# peers, model export; never part of the build, the tests or a run):
#   python=$(python_venv DIR REQUIREMENTS)
# creates the virtual environment DIR with $PYTHON (default python3) when it
# is missing, installs REQUIREMENTS into it and prints its interpreter.
python_venv() {
  local venv=$1 requirements=$2
  if [[ ! -x "$venv/bin/python" ]]; then
    "${PYTHON:-python3}" -m venv "$venv" >&2 || return 1
  fi
  "$venv/bin/python" -m pip install --quiet -r "$requirements" >&2 || return 1
  echo "$venv/bin/python"
}

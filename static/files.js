// The files of one project: which kind each is, and the order Compose reads them in.

const DEFAULT_COMPOSE_NAMES = [
  "compose.yaml",
  "compose.yml",
  "docker-compose.yaml",
  "docker-compose.yml",
];

/** Return "compose", "env" or "dockerfile" for a file name. */
export function fileKind(name) {
  const base = name.split("/").pop();
  if (base === ".env" || base.startsWith(".env.") || base.endsWith(".env")) {
    return "env";
  }
  if (/^dockerfile(\..+)?$/i.test(base) || /\.dockerfile$/i.test(base)) {
    return "dockerfile";
  }
  return "compose";
}

function composeRank(name) {
  const base = name.split("/").pop();
  const position = DEFAULT_COMPOSE_NAMES.indexOf(base);
  if (position >= 0) {
    return position;
  }
  if (/\.override\.ya?ml$/i.test(base)) {
    return 10;
  }
  return 20;
}

const KIND_ORDER = { compose: 0, env: 1, dockerfile: 2 };

/**
 * Sort files the way a person would pass them to `docker compose -f`:
 * the default compose file, then its override, then other compose files by
 * name, then the .env file and the Dockerfiles.
 */
export function sortFiles(files) {
  return [...files].sort((a, b) => {
    const kinds = KIND_ORDER[fileKind(a.name)] - KIND_ORDER[fileKind(b.name)];
    if (kinds !== 0) {
      return kinds;
    }
    if (fileKind(a.name) === "compose") {
      const ranks = composeRank(a.name) - composeRank(b.name);
      if (ranks !== 0) {
        return ranks;
      }
    }
    return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  });
}

/** Merge newly added files into the list; a file with the same name is replaced. */
export function mergeFiles(current, added) {
  const byName = new Map(current.map((file) => [file.name, file]));
  for (const file of added) {
    byName.set(file.name, file);
  }
  return sortFiles([...byName.values()]);
}

/** Build the JSON body the API reads from the list of files. */
export function buildProjectBody(files, { profiles, projectName }) {
  const compose = files.filter((file) => fileKind(file.name) === "compose");
  const env = files.find((file) => fileKind(file.name) === "env");
  const dockerfiles = files.filter((file) => fileKind(file.name) === "dockerfile");
  const body = {
    files: compose.map(({ name, content }) => ({ name, content })),
    dockerfiles: dockerfiles.map(({ name, content }) => ({ name, content })),
    profiles,
  };
  if (env) {
    body.env_file = { name: env.name, content: env.content };
  }
  if (projectName) {
    body.project_name = projectName;
  }
  return body;
}

/** Read dropped or picked File objects as text. */
export async function readFiles(fileList) {
  const read = [...fileList].map(async (file) => ({
    name: file.webkitRelativePath || file.name,
    content: await file.text(),
  }));
  return Promise.all(read);
}

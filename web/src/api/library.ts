/** Workflow libraries: the server's templates (workflows/) and the user's saved workflows (userdata). */

export interface TemplateEntry {
  name: string;
  title: string;
  description: string;
}

/** Saved workflows live in user/<user>/workflows, where ComfyUI keeps them. */
export const WORKFLOWS_DIR = 'workflows';

async function ok(res: Response, what: string): Promise<Response> {
  if (!res.ok) throw new Error(`${what} failed: HTTP ${res.status}`);
  return res;
}

export async function listTemplates(): Promise<TemplateEntry[]> {
  const index = (await (await ok(await fetch('/templates/index.json'), 'listing templates')).json()) as {
    templates?: { name: string; title?: string; description?: string }[];
  }[];
  return index.flatMap((cat) =>
    (cat.templates ?? []).map((t) => ({ name: t.name, title: t.title || t.name, description: t.description ?? '' })),
  );
}

export async function getTemplate(name: string): Promise<unknown> {
  return (await ok(await fetch(`/templates/${encodeURIComponent(name)}.json`), `loading template ${name}`)).json();
}

const userPath = (file: string) => `/userdata/${encodeURIComponent(`${WORKFLOWS_DIR}/${file}`)}`;

/** The saved workflow files (paths inside the workflows folder); none when the folder does not exist yet. */
export async function listUserWorkflows(): Promise<string[]> {
  const res = await fetch(`/userdata?dir=${encodeURIComponent(WORKFLOWS_DIR)}&recurse=true`);
  if (res.status === 404) return [];
  const names = (await (await ok(res, 'listing saved workflows')).json()) as string[];
  return names.filter((n) => n.toLowerCase().endsWith('.json'));
}

export async function getUserWorkflow(file: string): Promise<unknown> {
  return (await ok(await fetch(userPath(file)), `loading ${file}`)).json();
}

/** A file name for a workflow name: trimmed, ".json" added, no folders or odd characters. */
export function workflowFileName(name: string): string {
  const base = name
    .trim()
    .replace(/\.json$/i, '')
    .replace(/[\\/:*?"<>|\u0000-\u001f]+/g, '_')
    .replace(/^\.+/, '');
  if (!base) throw new Error('A workflow needs a name');
  return `${base}.json`;
}

export async function saveUserWorkflow(file: string, workflow: unknown, overwrite: boolean): Promise<void> {
  const res = await fetch(`${userPath(file)}?overwrite=${overwrite ? 'true' : 'false'}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(workflow),
  });
  if (res.status === 409) throw new Error(`${file} exists`);
  await ok(res, `saving ${file}`);
}

/** Loads /object_info into the graph store (at start and on "refresh"). */
import { getObjectInfo } from '../api/client';
import { graphStore } from '../store/graphStore';
import { runStore } from '../store/runStore';
import { parseObjectInfo } from '../workflow/nodeDefs';

export async function refreshDefs(): Promise<boolean> {
  try {
    const { defs, errors } = parseObjectInfo(await getObjectInfo());
    graphStore.setDefs(defs);
    if (errors.length) runStore.notify(`Some node types could not be read: ${errors.join('; ')}`, 'error');
    return true;
  } catch (e) {
    runStore.notify(`Could not load node types: ${(e as Error).message}`, 'error');
    return false;
  }
}

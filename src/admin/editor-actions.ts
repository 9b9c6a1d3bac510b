import type { ActionResult, EditionAction, EditionDesk } from '../editions/edition-desk.ts';

/** The editors' actions by name, each one desk method: what the admin API, the console and the CLI call. */
export function editorActions(
  desk: EditionDesk,
  by: string,
  reason = '',
): Record<string, ((id: string) => Promise<ActionResult>) | undefined> {
  const actions: Record<EditionAction, (id: string) => Promise<ActionResult>> = {
    approve: (id) => desk.approve(id, by),
    send: (id) => desk.send(id, by),
    skip: (id) => desk.skip(id, by, reason),
    reopen: (id) => desk.reopen(id, by),
  };
  return actions;
}

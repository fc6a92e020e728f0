/**
 * Usernames of leased accounts (issue 6): rendered from the item's template, restricted to
 * `[a-z0-9_]`, always starting with the item's prefix (so the sweep recognises them) and cut to the
 * target's limit from the middle, keeping the random tail that makes them unique.
 */
export function renderUsername(
  template: string,
  prefix: string,
  vars: { random: string; item: string; unixTimeSeconds: number },
  maxLength: number,
): string {
  const clean = (v: string) =>
    v
      .toLowerCase()
      .replace(/[^a-z0-9_]+/g, '_')
      .replace(/^_+|_+$/g, '');
  let name = template
    .replace(/\{\{\s*random\s*\}\}/g, vars.random.toLowerCase())
    .replace(/\{\{\s*(item|role|name)\s*\}\}/g, clean(vars.item.split('/').filter(Boolean).pop() ?? 'item'))
    .replace(/\{\{\s*unix_time\s*\}\}/g, String(vars.unixTimeSeconds))
    .replace(/\{\{[^}]*\}\}/g, '');
  name = name.replace(/[^A-Za-z0-9_]/g, '_');
  if (!name.startsWith(prefix)) name = `${prefix}${name}`;
  if (!name.includes(vars.random.toLowerCase())) name = `${name}_${vars.random.toLowerCase()}`;
  if (name.length > maxLength) name = prefix + name.slice(name.length - (maxLength - prefix.length));
  return name;
}

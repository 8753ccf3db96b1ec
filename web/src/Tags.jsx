// A nara's tags in the network table (the labels its signed newspaper carries), and
// the two controls that slice the table by them: a tag to filter on and a tag key to
// group by. Their choices come from the naras in view.
import { tagKeysOf, tagsOf } from "./tags.js";

/** The tag filter: `key:value` naras carry, with how many do. */
export function TagFilter({ peers, value, onChange }) {
  return (
    <label>
      Tag{" "}
      <select value={value} data-testid="tag-filter" onChange={(e) => onChange(e.currentTarget.value)}>
        <option value="">any</option>
        {tagsOf(peers, value).map(({ tag, count }) => (
          <option key={tag} value={tag}>
            {tag.replace(":", "=")} ({count.toLocaleString("en")})
          </option>
        ))}
      </select>
    </label>
  );
}

/** The tag key the table groups by. */
export function GroupBy({ peers, value, onChange }) {
  return (
    <label>
      Group by{" "}
      <select value={value} data-testid="group-by" onChange={(e) => onChange(e.currentTarget.value)}>
        <option value="">nothing</option>
        {tagKeysOf(peers, value).map((key) => (
          <option key={key} value={key}>
            {key}
          </option>
        ))}
      </select>
    </label>
  );
}

/** A nara's tags as `key=value` chips (none for a Go nara). */
export function TagList({ tags }) {
  const entries = Object.entries(tags ?? {});
  return (
    <td data-label="Tags" class="tags" data-testid="tags">
      {entries.map(([key, value]) => (
        <span key={key} class="tag" data-tag={`${key}:${value}`}>
          {key}={value}
        </span>
      ))}
    </td>
  );
}

/** The row that opens a group: its value (or that the naras below lack the key) and size. */
export function GroupRow({ group, value, size, columns }) {
  return (
    <tr class="group" data-group={value}>
      <th scope="rowgroup" colSpan={columns}>
        {value === "" ? <span class="muted">no {group}</span> : `${group}=${value}`}{" "}
        <span class="muted">({size.toLocaleString("en")})</span>
      </th>
    </tr>
  );
}

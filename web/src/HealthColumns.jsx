// The network table's host health columns: headings that sort the table by a column
// (heaviest first, then lightest, then back to status and name) and the cells of one
// nara, each in words with a title that says what it measures, or why it is blank.
import { HEALTH_COLUMNS, healthCell } from "./health.js";

export function HealthHeadings({ sort, onSort }) {
  return HEALTH_COLUMNS.map((column) => {
    const sorted = sort?.key === column.key ? (sort.ascending ? "ascending" : "descending") : "none";
    return (
      <th key={column.key} scope="col" class="num" aria-sort={sorted}>
        <button type="button" class="sort" title={column.title} data-sort={column.key} onClick={() => onSort(column.key)}>
          {column.heading}
          <span aria-hidden="true">{sorted === "descending" ? " ▼" : sorted === "ascending" ? " ▲" : ""}</span>
        </button>
      </th>
    );
  });
}

export function HealthCells({ peer }) {
  return HEALTH_COLUMNS.map((column) => {
    const { text, title } = healthCell(peer, column.key);
    return (
      <td key={column.key} class="num" data-label={column.heading} data-health={column.key} title={title}>
        {text === "—" ? <span class="muted">{text}</span> : text}
      </td>
    );
  });
}

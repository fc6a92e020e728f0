import { LaterPage } from './more.js';

export function ApprovalsPage() {
  return (
    <LaterPage title="Approvals" what="requests waiting for your decision" when="approvals (issue 16)" />
  );
}

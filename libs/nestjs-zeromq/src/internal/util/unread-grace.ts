/**
 * Runs `then` once what a lost peer sent has had time to be read: after `grace` ms, and again every
 * `grace` ms while `unread()` holds, but no later than `limit` ms from now. A peer's last acks and
 * replies may arrive just before its disconnect is reported, and must not be taken for lost.
 * Pending timers are kept in `timers`, for the owner to clear when it closes.
 */
export function afterUnreadIsRead(
  unread: () => boolean,
  grace: number,
  limit: number,
  timers: Set<NodeJS.Timeout>,
  then: () => void,
): void {
  const giveUpAt = Date.now() + limit;
  const wait = () => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (unread() && Date.now() < giveUpAt) {
        wait();
      } else {
        then();
      }
    }, grace);
    timers.add(timer);
  };
  wait();
}

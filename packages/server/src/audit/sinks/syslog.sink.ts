import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { hostname } from 'node:os';
import {
  type AuditCheckpointRecord,
  type AuditRecord,
  type AuditSink,
  encodeAuditRecord,
} from '../../core/audit/audit-sink.port.js';

export interface SyslogSinkOptions {
  transport: 'udp' | 'tcp';
  host: string;
  port: number;
  /** RFC 5424 §6.2.1 facility, 0–23 (default 13, "log audit"). */
  facility: number;
  appName: string;
  /** Connection and write timeout (TCP). */
  timeoutMs?: number;
}

/** RFC 5424 §6.2.1 severities. */
const SEVERITY = { success: 6, denied: 5, failure: 4, checkpoint: 6 } as const;
/** Private enterprise number used for our SD-ID (RFC 5424 §7.2.2: the documentation example). */
const SD_ID = 'tessera@32473';
const NIL = '-';

/** PRINTUSASCII, no spaces, bounded (RFC 5424 §6.2: APP-NAME ≤ 48, MSGID ≤ 32, HOSTNAME ≤ 255). */
function token(value: string, max: number): string {
  const clean = value.replace(/[^\x21-\x7e]/g, '').slice(0, max);
  return clean === '' ? NIL : clean;
}

/** SD-PARAM value escaping (RFC 5424 §6.3.3): `"`, `\` and `]`. */
const sdValue = (value: string) => value.replace(/["\\\]]/g, (c) => `\\${c}`);

/** One RFC 5424 message: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD] MSG`. */
export function formatRfc5424(
  opts: { facility: number; appName: string; host: string; procId: string },
  severity: number,
  at: string,
  msgId: string,
  sd: Record<string, string>,
  msg: string,
): string {
  const pri = opts.facility * 8 + severity;
  const params = Object.entries(sd)
    .map(([k, v]) => `${k}="${sdValue(v)}"`)
    .join(' ');
  return `<${pri}>1 ${at} ${token(opts.host, 255)} ${token(opts.appName, 48)} ${token(opts.procId, 128)} ${token(msgId, 32)} [${SD_ID} ${params}] ${msg}`;
}

/** RFC 6587 §3.4.1 octet counting: `MSG-LEN SP SYSLOG-MSG`. */
export const octetCounted = (message: string) => `${Buffer.byteLength(message)} ${message}`;

/** Syslog (RFC 5424) over UDP (RFC 5426, one message per datagram) or TCP (RFC 6587 framing). */
export function createSyslogSink(options: SyslogSinkOptions): AuditSink {
  const header = {
    facility: options.facility,
    appName: options.appName,
    host: hostname(),
    procId: String(process.pid),
  };
  const timeoutMs = options.timeoutMs ?? 5_000;
  let udp: UdpSocket | null = null;
  let tcp: Socket | null = null;

  const eventMessage = (e: AuditRecord) =>
    formatRfc5424(
      header,
      SEVERITY[e.outcome as keyof typeof SEVERITY] ?? 4,
      e.at,
      e.type,
      { seq: String(e.seq), id: e.id, outcome: e.outcome },
      encodeAuditRecord(e),
    );

  const checkpointMessage = (c: AuditCheckpointRecord) =>
    formatRfc5424(
      header,
      SEVERITY.checkpoint,
      new Date(c.atMs).toISOString(),
      'audit.checkpoint',
      { seq: String(c.seq), hash: c.hash },
      JSON.stringify({ checkpoint: c }),
    );

  async function sendUdp(messages: string[]) {
    if (!udp) {
      udp = createSocket(options.host.includes(':') ? 'udp6' : 'udp4');
      udp.on('error', () => {});
      udp.unref();
    }
    const socket = udp;
    for (const m of messages) {
      await new Promise<void>((resolve, reject) =>
        socket.send(Buffer.from(m), options.port, options.host, (error) =>
          error ? reject(error) : resolve(),
        ),
      );
    }
  }

  function openTcp(): Promise<Socket> {
    if (tcp && !tcp.destroyed) return Promise.resolve(tcp);
    return new Promise((resolve, reject) => {
      const socket = connect({ host: options.host, port: options.port });
      const fail = (error: Error) => {
        socket.destroy();
        reject(error);
      };
      socket.setTimeout(timeoutMs, () => fail(new Error('syslog connection timed out')));
      socket.once('error', fail);
      socket.once('connect', () => {
        socket.removeListener('error', fail);
        socket.setTimeout(0);
        socket.on('error', () => socket.destroy());
        socket.on('close', () => {
          if (tcp === socket) tcp = null;
        });
        socket.unref();
        tcp = socket;
        resolve(socket);
      });
    });
  }

  async function sendTcp(messages: string[]) {
    const socket = await openTcp();
    const payload = messages.map(octetCounted).join('');
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error('syslog write timed out'));
      }, timeoutMs);
      socket.write(payload, (error) => {
        clearTimeout(timer);
        if (error) {
          socket.destroy();
          reject(error);
        } else resolve();
      });
    });
  }

  const send = (messages: string[]) => (options.transport === 'udp' ? sendUdp(messages) : sendTcp(messages));

  return {
    kind: 'syslog',
    write: (events) => send(events.map(eventMessage)),
    writeCheckpoint: (checkpoint) => send([checkpointMessage(checkpoint)]),
    async close() {
      udp?.close();
      udp = null;
      if (tcp) await new Promise<void>((resolve) => tcp!.end(resolve));
      tcp?.destroy();
      tcp = null;
    },
  };
}

// Durations in the forms people write on a command line: `30d`, `12h`, `6w`, `90m`, `1d12h`, and ISO 8601
// (`P30D`, `PT12H`, `P1W`), parsed with dayjs' duration plugin. Months and years (`P1M`, `P1Y`) use dayjs'
// average lengths (30.4 and 365 days).
import dayjs from "dayjs";
import duration from "dayjs/plugin/duration.js";

dayjs.extend(duration);

const UNITS: Record<string, "millisecond" | "second" | "minute" | "hour" | "day" | "week"> = {
  ms: "millisecond",
  s: "second",
  m: "minute",
  min: "minute",
  h: "hour",
  d: "day",
  w: "week",
};
const SHORT = /^(?:\d+(?:\.\d+)?(?:ms|min|s|m|h|d|w))+$/;
const SHORT_PART = /(\d+(?:\.\d+)?)(ms|min|s|m|h|d|w)/g;
const ISO =
  /^P(?!$)(\d+(?:\.\d+)?Y)?(\d+(?:\.\d+)?M)?(\d+(?:\.\d+)?W)?(\d+(?:\.\d+)?D)?(T(?=\d)(\d+(?:\.\d+)?H)?(\d+(?:\.\d+)?M)?(\d+(?:\.\d+)?S)?)?$/;

/** Milliseconds in `text`, or undefined when it is not a duration this accepts. */
export function parseDuration(text: string): number | undefined {
  const value = text.trim();
  let ms: number;
  if (ISO.test(value.toUpperCase())) {
    ms = dayjs.duration(value.toUpperCase()).asMilliseconds();
  } else if (SHORT.test(value.toLowerCase())) {
    ms = 0;
    for (const [, amount, unit] of value.toLowerCase().matchAll(SHORT_PART)) {
      ms += dayjs.duration(Number(amount), UNITS[unit]).asMilliseconds();
    }
  } else {
    return undefined;
  }
  return Number.isFinite(ms) ? ms : undefined;
}

/** Data loaded by a call, with its state: `useLoad(() => api.x.list({}), [deps])`. */
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { problemOf, type Problem } from "../api/errors.js";

export interface Loaded<T> {
  data: T | undefined;
  problem: Problem | undefined;
  loading: boolean;
  reload: () => Promise<void>;
}

export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [data, setData] = useState<T>();
  const [problem, setProblem] = useState<Problem>();
  const [loading, setLoading] = useState(true);
  const generation = useRef(0);
  const reload = useCallback(async () => {
    const mine = ++generation.current;
    setLoading(true);
    try {
      const d = await load();
      if (mine !== generation.current) return;
      setData(d);
      setProblem(undefined);
    } catch (e) {
      if (mine === generation.current) setProblem(problemOf(e));
    } finally {
      if (mine === generation.current) setLoading(false);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  useEffect(() => {
    void reload();
  }, [reload]);
  return { data, problem, loading, reload };
}

/** A submit handler with busy state and the last problem: `const s = useSubmit(async () => …)`. */
export function useSubmit<A extends unknown[]>(act: (...args: A) => Promise<void>) {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem>();
  const run = async (...args: A) => {
    setBusy(true);
    setProblem(undefined);
    try {
      await act(...args);
    } catch (e) {
      setProblem(problemOf(e));
    } finally {
      setBusy(false);
    }
  };
  return { busy, problem, setProblem, run };
}

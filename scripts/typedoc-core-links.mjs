// TypeDoc plugin: resolves `{@link Name}` in a subpath module (supaguard/redis, …)
// to the core module's `Name` when the subpath does not export it. Every subpath
// documents `@throws {@link ConfigurationError}` and friends, which live in the core
// ("supaguard"); without this, each would need a module-qualified reference.
// Links that match nothing still fail the build (validation.invalidLink).
//
// It also requires a doc comment on every exported function. TypeDoc's own
// `requiredToBeDocumented: ['Function']` would also demand one on every method
// signature of every interface, which is more than the house style asks.
import { Converter, Reflection, ReflectionKind } from 'typedoc';

const IDENTIFIER = /^\s*([A-Za-z_$][\w$]*)\s*(\|.*)?$/s;

function moduleOf(reflection) {
  let current = reflection;
  while (current && !current.kindOf(ReflectionKind.Module)) current = current.parent;
  return current;
}

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.converter.on(
    Converter.EVENT_RESOLVE_END,
    (context) => {
      const project = context.project;
      const core = project.children?.find((child) => child.name === 'index');
      if (!core) return;
      for (const reflection of Object.values(project.reflections)) {
        const comment = reflection.comment;
        if (!comment) continue;
        const module = moduleOf(reflection);
        if (!module || module === core) continue;
        const parts = [...comment.summary, ...comment.blockTags.flatMap((tag) => tag.content)];
        for (const part of parts) {
          if (part.kind !== 'inline-tag' || !part.tag.startsWith('@link')) continue;
          if (part.target instanceof Reflection || typeof part.target === 'string') continue;
          if (part.target && project.getReflectionsFromSymbolId?.(part.target)?.length) continue;
          const name = IDENTIFIER.exec(part.text)?.[1];
          if (!name || module.getChildByName(name)) continue;
          const target = core.getChildByName(name);
          if (target) part.target = target;
        }
      }
      for (const module of project.children ?? []) {
        for (const child of module.children ?? []) {
          if (!child.kindOf(ReflectionKind.Function)) continue;
          const documented = child.comment?.summary.length || child.signatures?.some((s) => s.comment?.summary.length);
          if (!documented) app.logger.warn(`${module.name}.${child.name} (exported function) does not have any documentation`);
        }
      }
    },
    100,
  );
}
